#include "train/progress.h"

#include <unistd.h>

#include <cstdio>

#include "core/log.h"
#include "core/text/cat.h"

namespace loom {

std::string format_duration(double seconds) {
  auto s = static_cast<int64_t>(seconds + 0.5);
  char buffer[32];
  if (s >= 3600)
    std::snprintf(buffer, sizeof buffer, "%lldh%02lldm", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60));
  else if (s >= 60)
    std::snprintf(buffer, sizeof buffer, "%lldm%02llds", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  else
    std::snprintf(buffer, sizeof buffer, "%llds", static_cast<long long>(s));
  return buffer;
}

Progress::Progress(int64_t total_steps, int64_t every)
    : total_(total_steps),
      every_(every < 1 ? 1 : every),
      terminal_(isatty(STDERR_FILENO) != 0),
      start_time_(std::chrono::steady_clock::now()),
      last_draw_(start_time_) {}

double Progress::steps_per_second() const {
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_time_).count();
  return elapsed > 0 ? static_cast<double>(steps_done_) / elapsed : 0.0;
}

double Progress::samples_per_second() const {
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_time_).count();
  return elapsed > 0 ? static_cast<double>(images_) / elapsed : 0.0;
}

std::string Progress::line(int64_t step, const std::string& figures) const {
  double rate = steps_per_second();
  std::string eta = rate > 0 ? format_duration(static_cast<double>(total_ - step) / rate) : "?";
  char speed[64];
  std::snprintf(speed, sizeof speed, "%.2f step/s  %.1f samples/s", rate, samples_per_second());
  return cat("step ", step, "/", total_, "  ", figures, "  ", speed, "  ETA ", eta);
}

void Progress::update(int64_t step, int64_t images, const std::string& figures) {
  images_ += images;
  ++steps_done_;
  auto now = std::chrono::steady_clock::now();
  bool periodic = step % every_ == 0 || step == total_;
  if (terminal_ && (now - last_draw_ > std::chrono::milliseconds(200) || step == total_)) {
    std::fprintf(stderr, "\r\033[K%s", line(step, figures).c_str());
    std::fflush(stderr);
    last_draw_ = now;
    drawn_ = true;
  }
  if (periodic) {
    if (terminal_) {
      finish();  // the log line below replaces the redrawn one in the scrollback
    }
    LOOM_INFO(line(step, figures));
  }
}

void Progress::finish() {
  if (drawn_) std::fprintf(stderr, "\r\033[K");
  drawn_ = false;
}

}  // namespace loom

#pragma once
// The training progress display: on a terminal one line redrawn in place (step, loss, lr, step/s,
// samples/s, ETA); otherwise (logs, CI, SLURM) a plain log line every `every` steps.
#include <chrono>
#include <cstdint>
#include <string>

namespace loom {

class Progress {
 public:
  Progress(int64_t total_steps, int64_t every);
  // After each step: images of this step and the figures to show ("loss 0.123  lr 1e-3").
  void update(int64_t step, int64_t images, const std::string& figures);
  void finish();  // ends the redrawn line

  double steps_per_second() const;
  double samples_per_second() const;

 private:
  std::string line(int64_t step, const std::string& figures) const;

  int64_t total_, every_;
  bool terminal_;
  std::chrono::steady_clock::time_point start_time_, last_draw_;
  int64_t images_ = 0;
  int64_t steps_done_ = 0;
  bool drawn_ = false;
};

std::string format_duration(double seconds);  // "1h02m", "3m05s", "12s"

}  // namespace loom

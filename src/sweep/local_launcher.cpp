#include "sweep/local_launcher.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <iomanip>
#include <ostream>

#include "core/error.h"
#include "core/text/cat.h"

namespace loom::sweep {

namespace {

volatile std::sig_atomic_t g_signals = 0;
volatile std::sig_atomic_t g_last_signal = 0;
struct sigaction g_previous[3];
const int kSignals[2] = {SIGINT, SIGTERM};

void on_signal(int signal) {
  g_signals = g_signals + 1;
  g_last_signal = signal;
}

void install(int signal, struct sigaction* previous) {
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: a sleep returns early
  sigaction(signal, &action, previous);
}

}  // namespace

StopSignals::StopSignals(int extra) : extra_(extra) {
  g_signals = 0;
  g_last_signal = 0;
  for (int i = 0; i < 2; ++i) install(kSignals[i], &g_previous[i]);
  if (extra_) install(extra_, &g_previous[2]);
}

StopSignals::~StopSignals() {
  for (int i = 0; i < 2; ++i) sigaction(kSignals[i], &g_previous[i], nullptr);
  if (extra_) sigaction(extra_, &g_previous[2], nullptr);
}

int StopSignals::count() const { return g_signals; }
int StopSignals::last() const { return g_last_signal; }

LaunchTally run_locally(const Manifest& manifest, const SweepLayout& layout, const std::vector<const Job*>& jobs,
                        int64_t concurrent, int64_t threads, Runner runner, std::ostream& out) {
  LaunchTally tally;
  StopSignals signals;
  std::vector<RunningJob> running;
  int forwarded = 0;  // stop requests passed on to the jobs
  size_t next = 0, finished = 0;
  const size_t total = jobs.size();
  auto position = [&](size_t k) { return cat("[", k, "/", total, "]"); };
  while (true) {
    if (signals.count() > forwarded) {  // the first stops the jobs gracefully, a second at once
      for (const auto& r : running) stop_job(r);
      forwarded = signals.count();
      tally.stopped = true;
      out << "stopping: " << running.size() << " running job(s) asked to checkpoint and stop\n" << std::flush;
    }
    while (!tally.stopped && running.size() < static_cast<size_t>(concurrent) && next < total) {
      const Job& job = *jobs[next++];
      std::optional<RunningJob> started = start_job(layout, job, job_command(manifest, job, layout, threads, runner));
      if (!started) {
        ++tally.busy;
        ++finished;
        out << position(finished) << " busy     " << job.id << " (another process is running it)\n";
        continue;
      }
      out << "         start    " << job.id << " (attempt " << started->status.attempts << ")\n" << std::flush;
      running.push_back(std::move(*started));
    }
    if (running.empty()) break;
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid < 0 && errno != EINTR) throw UserError(cat("loom sweep: waitpid failed (", std::strerror(errno), ")"));
    if (pid <= 0) {
      usleep(100000);  // polling keeps a signal that arrives at any moment from waiting for a job to end
      continue;
    }
    auto it = std::find_if(running.begin(), running.end(), [&](const RunningJob& r) { return r.pid == pid; });
    if (it == running.end()) continue;
    const JobStatus& s = finish_job(layout, *it, status, forwarded > 0);
    ++finished;
    out << position(finished) << " " << std::left << std::setw(8) << state_name(s.state) << " " << it->job->id << " ("
        << std::fixed << std::setprecision(1) << s.seconds << " s";
    if (s.state == JobState::failed) out << ", exit code " << s.exit_code.value_or(-1);
    const std::optional<RunSummary> summary = read_run_summary(layout, it->job->id);
    if (summary && summary->final_metrics.count(manifest.metric))
      out << ", " << manifest.metric << " = " << std::setprecision(4) << summary->final_metrics.at(manifest.metric);
    out << ")\n" << std::defaultfloat << std::flush;
    if (s.state == JobState::done) ++tally.done;
    if (s.state == JobState::interrupted) ++tally.interrupted;
    if (s.state == JobState::failed) {
      ++tally.failed;
      tally.failed_jobs.push_back(it->job);
    }
    running.erase(it);
  }
  return tally;
}

}  // namespace loom::sweep

#pragma once
// Runs a sweep's jobs on this machine, a few at a time. SIGINT / SIGTERM stop the sweep: no new job
// starts and the running ones are asked once to stop (they checkpoint); the same command continues.
#include <cstdint>
#include <iosfwd>
#include <vector>

#include "sweep/job_process.h"

namespace loom::sweep {

struct LaunchTally {
  int64_t done = 0, failed = 0, interrupted = 0, busy = 0;  // busy: run by another process right now
  std::vector<const Job*> failed_jobs;
  bool stopped = false;  // a signal stopped the sweep
};

// `threads`: train.threads of each job (0 = leave it); `runner`: torchrun for several ranks.
LaunchTally run_locally(const Manifest& manifest, const SweepLayout& layout, const std::vector<const Job*>& jobs,
                        int64_t concurrent, int64_t threads, Runner runner, std::ostream& out);

// Sets a flag on SIGINT / SIGTERM (and on `extra`, e.g. SIGUSR1) while alive; restores the handlers after.
class StopSignals {
 public:
  explicit StopSignals(int extra = 0);
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
  int count() const;  // signals received so far
  int last() const;   // the last signal's number (0 if none)

 private:
  int extra_;
};

}  // namespace loom::sweep

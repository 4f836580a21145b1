#pragma once
// One job as a `loom train` process (the trainer keeps process-wide state: seeds, the log file, signal
// handlers, thread counts, so each job gets a process of its own), shared by the local launcher and the
// SLURM array task: the command line, starting it with its status and log, and reading how it ended.
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sweep/manifest.h"

namespace loom::sweep {

enum class Runner { direct, torchrun, srun };

struct JobCommand {
  std::vector<std::string> argv;
  std::vector<std::string> env;  // NAME=value added to the environment
  std::string shell() const;     // the command as one shell line (env, quoted arguments)
};

// `loom train CONFIG <fixed> <swept> output.root=<sweep>/jobs output.name=<id> output.id=run resume=auto
// train.threads=<threads>`, under torchrun or srun for several ranks. `threads` 0 leaves threads alone;
// a job that sets train.threads itself keeps its own.
JobCommand job_command(const Manifest& manifest, const Job& job, const SweepLayout& layout, int64_t threads,
                       Runner runner);

struct RunningJob {
  const Job* job = nullptr;
  pid_t pid = 0;
  int lock_fd = -1;
  JobStatus status;
  std::chrono::steady_clock::time_point start;
};

// Starts the job unless another process holds its lock (then nullopt): status `running`, output
// appended to job.log, its own process group (a terminal's Ctrl-C reaches the sweep, which stops the
// jobs once), and SIGTERM when this process dies, so a killed sweep's jobs write their checkpoints.
std::optional<RunningJob> start_job(const SweepLayout& layout, const Job& job, const JobCommand& command);

// Asks the job to stop (SIGTERM to its process group: the trainer checkpoints and exits).
void stop_job(const RunningJob& running);

// Records how the job ended (from its wait status and the run's summary.json) and releases its lock.
// `stop_requested`: this process asked it to stop, so a death by signal is an interruption.
const JobStatus& finish_job(const SweepLayout& layout, RunningJob& running, int wait_status, bool stop_requested);

// The trainer's summary.json of the job's run (how it ended and its last evaluation); nullopt when there
// is none or it cannot be read.
struct RunSummary {
  std::string status;  // finished | interrupted
  std::map<std::string, double> final_metrics;
};
std::optional<RunSummary> read_run_summary(const SweepLayout& layout, const std::string& id);

// The last `lines` lines of the job's log.
std::string log_tail(const SweepLayout& layout, const std::string& id, int lines);

}  // namespace loom::sweep

#include "sweep/slurm_launcher.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <ostream>

#include "core/environment.h"
#include "core/error.h"
#include "core/io/atomic_file.h"
#include "core/text/cat.h"
#include "sweep/job_process.h"
#include "sweep/local_launcher.h"
#include "train/run_directory.h"

namespace loom::sweep {

std::string array_indices(const std::vector<int64_t>& rows) {
  std::string out;
  for (size_t i = 0; i < rows.size();) {
    size_t j = i;
    while (j + 1 < rows.size() && rows[j + 1] == rows[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(rows[i]);
    if (j > i) out += cat("-", rows[j]);
    i = j + 1;
  }
  return out;
}

std::filesystem::path write_array_script(const Manifest& manifest, const SweepLayout& layout,
                                         const SweepOptions& options, const std::vector<int64_t>& rows) {
  const SlurmOptions& s = options.slurm;
  const std::filesystem::path root = std::filesystem::absolute(layout.root);
  std::string script = "#!/bin/bash\n";
  auto option = [&](const std::string& line) { script += "#SBATCH " + line + "\n"; };
  option(cat("--job-name=loom-sweep-", manifest.name));
  option(cat("--array=", array_indices(rows), "%", s.array_parallelism));
  option(cat("--output=", (root / "slurm" / "%A_%a.out").string()));
  option("--open-mode=append");
  option("--requeue");
  option(cat("--signal=B:USR1@", s.signal_delay_s));
  option(cat("--time=", s.time));
  option("--nodes=1");
  if (manifest.ranks > 1) option(cat("--ntasks-per-node=", manifest.ranks));
  const int64_t cpus = s.cpus_per_task > 0 ? s.cpus_per_task : options.cores;
  if (cpus > 0) option(cat("--cpus-per-task=", cpus));
  if (!s.partition.empty()) option(cat("--partition=", s.partition));
  if (!s.account.empty()) option(cat("--account=", s.account));
  if (!s.qos.empty()) option(cat("--qos=", s.qos));
  if (!s.mem.empty()) option(cat("--mem=", s.mem));
  if (!s.gres.empty()) option(cat("--gres=", s.gres));
  for (const auto& line : s.additional) option(line);
  script += "# Task i runs row i of the manifest; on USR1 its job checkpoints and the task requeues itself.\n";
  for (const auto& line : s.setup) script += line + "\n";
  // exec: the batch shell's USR1 (--signal=B:) reaches loom itself.
  script += cat("exec ", manifest.binary, " sweep task ", root.string(), " max_requeues=", s.max_requeues, "\n");
  const std::filesystem::path path = layout.slurm() / cat("array-", run_timestamp(), ".sbatch");
  write_file_atomically(path, script);
  return path;
}

int run_array_task(const SweepLayout& layout, std::optional<int64_t> index, int64_t max_requeues, std::ostream& out) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  if (!index && !env_value("SLURM_ARRAY_TASK_ID"))
    throw UserError("loom sweep task: no index=K given and SLURM_ARRAY_TASK_ID is not set");
  if (!index) index = env_int("SLURM_ARRAY_TASK_ID", 0, 0, kMax);
  const Manifest manifest = read_manifest(layout.manifest());
  if (*index < 0 || *index >= static_cast<int64_t>(manifest.jobs.size()))
    throw UserError(cat("loom sweep task: index ", *index, " is outside the manifest's ", manifest.jobs.size(),
                        " rows (", layout.manifest().string(), ")"));
  const Job& job = manifest.jobs[static_cast<size_t>(*index)];
  if (read_status(layout.status(job.id)).state == JobState::done) {
    out << "done already: " << job.id << "\n";
    return 0;
  }
  const int64_t threads = env_int("SLURM_CPUS_PER_TASK", 0, 0, kMax);
  StopSignals signals(SIGUSR1);
  std::optional<RunningJob> running = start_job(
      layout, job, job_command(manifest, job, layout, threads, manifest.ranks > 1 ? Runner::srun : Runner::direct));
  if (!running) {
    out << "busy: another process is running " << job.id << "\n";
    return 0;
  }
  out << "task " << *index << ": " << job.id << " (attempt " << running->status.attempts << ")\n" << std::flush;
  int status = 0, forwarded = 0;
  bool requeue = false;
  while (true) {
    if (signals.count() > forwarded) {
      requeue = requeue || signals.last() == SIGUSR1;
      forwarded = signals.count();
      stop_job(*running);
    }
    const pid_t pid = waitpid(running->pid, &status, WNOHANG);
    if (pid == running->pid) break;
    if (pid < 0 && errno != EINTR) throw UserError(cat("loom sweep task: waitpid failed (", std::strerror(errno), ")"));
    usleep(100000);
  }
  JobStatus s = finish_job(layout, *running, status, forwarded > 0);
  out << state_name(s.state) << ": " << job.id << " (exit code " << s.exit_code.value_or(-1) << ")\n";
  if (s.state == JobState::interrupted && requeue) {
    if (s.requeues >= max_requeues) {
      out << "not requeued: " << job.id << " was requeued " << s.requeues << " times (max_requeues)\n";
      return 0;
    }
    const char* array_job = env_value("SLURM_ARRAY_JOB_ID");
    const char* task = env_value("SLURM_ARRAY_TASK_ID");
    const char* single = env_value("SLURM_JOB_ID");
    const std::string target = array_job && task ? cat(array_job, "_", task) : single ? single : "";
    if (target.empty()) throw UserError("loom sweep task: USR1 without SLURM_JOB_ID: nothing to requeue");
    s.requeues += 1;
    write_status(layout.status(job.id), s);
    const int rc = std::system(cat("scontrol requeue ", target).c_str());
    out << "requeued " << target << (rc == 0 ? "" : cat(" FAILED (scontrol exit status ", rc, ")")) << "\n";
  }
  return s.state == JobState::failed ? s.exit_code.value_or(1) : 0;
}

}  // namespace loom::sweep

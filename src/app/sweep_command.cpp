#include "app/sweep_command.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <thread>

#include "app/named_arguments.h"
#include "core/error.h"
#include "core/text/cat.h"
#include "sweep/local_launcher.h"
#include "sweep/results.h"
#include "sweep/slurm_launcher.h"
#include "sweep/sweep_plan.h"

namespace fs = std::filesystem;

namespace loom::cli {

namespace {

using namespace loom::sweep;

int64_t integer_argument(const std::map<std::string, std::string>& args, const std::string& key, int64_t fallback) {
  auto it = args.find(key);
  if (it == args.end()) return fallback;
  try {
    size_t used = 0;
    const int64_t v = std::stoll(it->second, &used);
    if (used == it->second.size() && v >= 0) return v;
  } catch (const std::exception&) {
  }
  throw UserError(cat("loom sweep: ", key, "='", it->second, "' is not a non-negative integer"));
}

SweepLayout existing_sweep(const std::vector<std::string>& arguments, const std::string& form) {
  if (arguments.size() < 2) throw UserError(cat("loom sweep ", form, " needs the sweep folder"));
  SweepLayout layout{arguments[1]};
  if (!fs::exists(layout.manifest())) throw UserError(cat(arguments[1], ": not a sweep folder (no manifest.json)"));
  return layout;
}

void print_results(const SweepLayout& layout, const Manifest& manifest, const std::string& metric,
                   const std::string& mode) {
  const SweepResults results = collect_results(manifest, layout, metric, mode);
  std::cout << "\n" << markdown_tables(results) << "\n";
  for (const auto& path : write_results(results, layout)) std::cout << "wrote " << path.string() << "\n";
  std::cout << "tensorboard --logdir " << layout.root.string() << "   (one run per job, named by its overrides)\n";
}

int table(const std::vector<std::string>& arguments) {
  const SweepLayout layout = existing_sweep(arguments, "table");
  auto args = named_arguments({arguments.begin() + 2, arguments.end()}, {"metric", "mode"}, "loom sweep table");
  if (args.count("mode") && args["mode"] != "min" && args["mode"] != "max")
    throw UserError(cat("loom sweep table: mode='", args["mode"], "' (min or max)"));
  print_results(layout, read_manifest(layout.manifest()), args["metric"], args["mode"]);
  return 0;
}

int task(const std::vector<std::string>& arguments) {
  const SweepLayout layout = existing_sweep(arguments, "task");
  auto args = named_arguments({arguments.begin() + 2, arguments.end()}, {"index", "max_requeues"}, "loom sweep task");
  std::optional<int64_t> index;
  if (args.count("index")) index = integer_argument(args, "index", 0);
  return run_array_task(layout, index, integer_argument(args, "max_requeues", 10), std::cout);
}

bool on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  if (!path) return false;
  std::string dirs = path;
  for (size_t start = 0; start <= dirs.size();) {
    size_t end = std::min(dirs.find(':', start), dirs.size());
    if (fs::exists(fs::path(dirs.substr(start, end - start)) / program)) return true;
    start = end + 1;
  }
  return false;
}

int submit_to_slurm(const SweepPlan& plan, const std::vector<const Job*>& jobs, bool dry_run) {
  std::vector<int64_t> rows;
  for (const Job* job : jobs) rows.push_back(job - plan.manifest.jobs.data());
  std::sort(rows.begin(), rows.end());
  const fs::path script = write_array_script(plan.manifest, plan.layout, plan.spec.options, rows);
  std::cout << "SLURM array script: " << script.string() << " (" << rows.size() << " tasks)\n";
  if (dry_run || !plan.spec.options.slurm.submit) {
    std::cout << "submit with: sbatch " << script.string() << "\n";
    return 0;
  }
  if (!on_path("sbatch"))
    throw UserError(cat("sbatch is not on PATH: submit from a SLURM login node with: sbatch ", script.string()));
  const int rc = std::system(cat("sbatch ", script.string()).c_str());
  if (rc != 0) throw UserError(cat("sbatch ", script.string(), " failed (status ", rc, ")"));
  std::cout << "follow with: loom sweep table " << plan.layout.root.string() << "\n";
  return 0;
}

int run_sweep(const std::vector<std::string>& arguments, bool dry_run) {
  const SweepPlan plan = plan_sweep(arguments[0], {arguments.begin() + 1, arguments.end()});
  const SweepOptions& o = plan.spec.options;
  write_plan(plan);
  for (const auto& note : plan.notes) std::cout << "changed (accepted): " << note << "\n";
  const std::vector<const Job*> jobs = plan.to_run();
  std::map<JobState, int64_t> states;
  for (const auto& p : plan.jobs) ++states[p.status.state];
  std::cout << "sweep " << plan.layout.root.string() << ": " << plan.jobs.size() << " jobs (";
  bool first = true;
  for (const auto& [state, n] : states) {
    std::cout << (first ? "" : ", ") << n << " " << state_name(state);
    first = false;
  }
  std::cout << "), " << jobs.size() << " to run\n";
  if (states[JobState::failed] && !o.rerun_failed)
    std::cout << "failed jobs are not run again unless sweep.rerun_failed=true\n";

  const int64_t cores = o.cores > 0 ? o.cores : std::max<int64_t>(1, std::thread::hardware_concurrency());
  const int64_t concurrent = std::max<int64_t>(1, std::min<int64_t>(o.jobs, static_cast<int64_t>(jobs.size())));
  const int64_t threads = std::max<int64_t>(1, cores / (concurrent * o.ranks));
  const Runner runner = o.ranks > 1 ? Runner::torchrun : Runner::direct;
  if (o.launcher == "slurm") return submit_to_slurm(plan, jobs, dry_run);
  if (dry_run) {
    for (const Job* job : jobs)
      std::cout << job_command(plan.manifest, *job, plan.layout, threads, runner).shell() << "\n";
    return 0;
  }
  if (!jobs.empty()) std::cout << concurrent << " at a time, " << threads << " thread(s) each\n";
  const LaunchTally tally = run_locally(plan.manifest, plan.layout, jobs, concurrent, threads, runner, std::cout);

  int64_t unfinished = 0;
  std::vector<std::pair<const Job*, JobStatus>> failed;
  for (const auto& p : plan.jobs) {
    JobStatus s = read_status(plan.layout.status(p.job->id));
    if (s.state == JobState::failed)
      failed.emplace_back(p.job, std::move(s));
    else if (s.state != JobState::done)
      ++unfinished;
  }
  print_results(plan.layout, plan.manifest, o.metric, o.mode);
  if (tally.stopped || unfinished > 0)
    std::cout << "\nstopped with " << unfinished << " job(s) unfinished: run the same command again to continue\n";
  if (failed.empty()) return 0;
  std::cout << "\n" << failed.size() << " job(s) failed:\n";
  for (const auto& [job, s] : failed) {
    std::cout << "  " << job->id << ": exit code " << s.exit_code.value_or(-1) << ", log "
              << plan.layout.log(job->id).string() << "\n";
    std::string tail = log_tail(plan.layout, job->id, 8);
    for (size_t start = 0; start < tail.size();) {
      size_t end = std::min(tail.find('\n', start), tail.size());
      std::cout << "    | " << tail.substr(start, end - start) << "\n";
      start = end + 1;
    }
  }
  return kSweepFailed;
}

}  // namespace

int sweep(const std::vector<std::string>& arguments, bool dry_run) {
  if (arguments.empty()) throw UserError("loom sweep needs a sweep file or a training config (see loom sweep --help)");
  if (arguments[0] == "table") return table(arguments);
  if (arguments[0] == "task") return task(arguments);
  return run_sweep(arguments, dry_run);
}

}  // namespace loom::cli

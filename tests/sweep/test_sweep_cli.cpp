// `loom sweep` end to end on the quickstart classifier: real `loom train` jobs, small enough to run in
// seconds.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "support/test_env.h"
#include "sweep/manifest.h"

namespace {

namespace fs = std::filesystem;
using loom::cat;
using loom::test::run_loom;
using namespace loom::sweep;

std::string quickstart() { return (loom::test::source_dir() / "configs" / "quickstart.yaml").string(); }

// A 2 x 3 sweep (learning rate x seed) of 200-step runs, two at a time.
std::string two_by_three(const fs::path& root, const std::string& name) {
  return cat(quickstart(),
             " optimizer.lr=0.002,0.004 seed=0,1,2 train.steps=200 schedule.total_steps=200 schedule.warmup_steps=20"
             " train.eval_every=50 train.log_every=20 train.checkpoint_every=1000 sweep.jobs=2 sweep.root=",
             root.string(), " sweep.name=", name);
}

const std::vector<std::string> kJobs = {"optimizer.lr=0.002,train.seed=0", "optimizer.lr=0.002,train.seed=1",
                                        "optimizer.lr=0.002,train.seed=2", "optimizer.lr=0.004,train.seed=0",
                                        "optimizer.lr=0.004,train.seed=1", "optimizer.lr=0.004,train.seed=2"};

JobStatus status_of(const fs::path& sweep, const std::string& id) { return read_status(SweepLayout{sweep}.status(id)); }

int count_state(const fs::path& sweep, JobState state) {
  int n = 0;
  for (const auto& id : kJobs) n += status_of(sweep, id).state == state;
  return n;
}

// Starts a command in the background; returns its pid.
pid_t start_background(const std::string& command, const fs::path& log) {
  auto r = loom::test::run_command(cat(command, " > ", log.string(), " 2>&1 & echo $!"));
  return static_cast<pid_t>(std::stol(r.output));
}

bool wait_until(const std::function<bool()>& condition, double seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return condition();
}

bool exited(pid_t pid) { return kill(pid, 0) != 0; }

// True when no process holds the job's lock (its `loom train` has exited).
bool unlocked(const fs::path& sweep, const std::string& id) {
  const int fd = open(SweepLayout{sweep}.lock(id).c_str(), O_RDWR);
  if (fd < 0) return true;
  const bool free = flock(fd, LOCK_EX | LOCK_NB) == 0;
  close(fd);
  return free;
}

std::string table_without_title(const fs::path& sweep) {
  std::string md = loom::test::read_text(sweep / "results.md");
  return md.substr(md.find('\n'));
}

}  // namespace

TEST_CASE("a 2 x 3 sweep runs two jobs at a time and a killed sweep resumes to the same table", "[sweep][cli]") {
  const fs::path root = loom::test::scratch("sweep_two_by_three");
  auto whole = run_loom("sweep " + two_by_three(root, "whole"));
  INFO(whole.output);
  REQUIRE(whole.code == 0);
  CHECK_THAT(whole.output, Catch::Contains("6 jobs (6 pending), 6 to run") && Catch::Contains("2 at a time"));
  // Never more than two jobs at once, and two at some point.
  int running = 0, most = 0;
  std::istringstream lines(whole.output);
  for (std::string line; std::getline(lines, line);) {
    if (line.find(" start ") != std::string::npos) most = std::max(most, ++running);
    if (line.starts_with("[")) --running;
  }
  CHECK(most == 2);
  const fs::path sweep = root / "whole";
  for (const auto& id : kJobs) {
    INFO(id);
    CHECK(status_of(sweep, id).state == JobState::done);
    CHECK(status_of(sweep, id).attempts == 1);
    for (const char* file : {"config.yaml", "overrides.yaml", "job.log", "run/summary.json", "run/metrics.jsonl"})
      CHECK(fs::exists(sweep / "jobs" / id / file));
  }
  CHECK_THAT(loom::test::read_text(sweep / "jobs" / kJobs[4] / "config.yaml"),
             Catch::Contains("lr: 0.004") && Catch::Contains("seed: 1"));
  const std::string md = loom::test::read_text(sweep / "results.md");
  CHECK_THAT(md, Catch::Contains("Mean ± std over the seeds") && Catch::Contains("| 0.002 | 3 | 0.") &&
                     Catch::Contains("| 0.004 | 3 | 0."));
  for (const char* plot : {"plots/val_accuracy_curves.png", "plots/val_accuracy_by_optimizer.lr.png"})
    CHECK(fs::file_size(sweep / plot) > 1000);
  // The sweep folder is one TensorBoard logdir whose runs are named by the jobs' overrides.
  std::string ids;
  for (const auto& id : kJobs) ids += " " + id;
  CHECK(loom::test::run_python("check_sweep_runs.py", cat(sweep.string(), " val/accuracy", ids)) == 0);

  // The same sweep killed with SIGKILL: its running jobs get SIGTERM (PR_SET_PDEATHSIG) and checkpoint.
  const fs::path cut = root / "cut";
  const pid_t pid = start_background(
      cat((loom::test::bin_dir() / "loom").string(), " sweep ", two_by_three(root, "cut")), root / "cut.log");
  // Killed once two jobs are done and a running one is training (past its setup, so it can checkpoint).
  auto training = [&] {
    for (const auto& id : kJobs) {
      const fs::path metrics = cut / "jobs" / id / "run" / "metrics.jsonl";
      if (status_of(cut, id).state == JobState::running && fs::exists(metrics) && fs::file_size(metrics) > 0)
        return true;
    }
    return false;
  };
  REQUIRE(wait_until([&] { return fs::exists(cut) && count_state(cut, JobState::done) >= 2 && training(); }, 300));
  kill(pid, SIGKILL);
  REQUIRE(wait_until([&] { return exited(pid); }, 30));
  REQUIRE(wait_until(
      [&] { return std::all_of(kJobs.begin(), kJobs.end(), [&](const auto& id) { return unlocked(cut, id); }); }, 120));
  const int done = count_state(cut, JobState::done);
  REQUIRE(done < 6);
  auto again = run_loom("sweep " + two_by_three(root, "cut"));
  INFO(again.output);
  REQUIRE(again.code == 0);
  CHECK_THAT(again.output, Catch::Contains(cat(done, " done")) && Catch::Contains(cat(6 - done, " to run")));
  int reran = 0;
  for (const auto& id : kJobs) {
    const JobStatus s = status_of(cut, id);
    CHECK(s.state == JobState::done);
    reran += s.attempts > 1;
  }
  CHECK(reran >= 1);  // a job the kill interrupted was continued, not started over...
  bool resumed = false;
  for (const auto& id : kJobs)
    resumed = resumed || loom::test::read_text(cut / "jobs" / id / "job.log").find("resumed from") != std::string::npos;
  CHECK(resumed);  // ...from its checkpoint
  CHECK(table_without_title(cut) == table_without_title(sweep));
  CHECK(loom::test::read_text(cut / "results.csv") == loom::test::read_text(sweep / "results.csv"));

  // Nothing left to do: a third run starts no job.
  auto third = run_loom("sweep " + two_by_three(root, "cut"));
  CHECK(third.code == 0);
  CHECK_THAT(third.output, Catch::Contains("6 jobs (6 done), 0 to run"));
}

TEST_CASE("the SLURM array body runs the manifest row of SLURM_ARRAY_TASK_ID and requeues itself on USR1",
          "[sweep][cli][slurm]") {
  const fs::path root = loom::test::scratch("sweep_slurm");
  const fs::path sweep = root / "array";
  auto r = run_loom(cat("sweep ", two_by_three(root, "array"),
                        " sweep.launcher=slurm sweep.slurm.submit=false sweep.slurm.array_parallelism=2 "
                        "sweep.slurm.partition=cpu sweep.slurm.time=00:30:00 sweep.cores=4"));
  INFO(r.output);
  REQUIRE(r.code == 0);
  std::vector<fs::path> scripts;
  for (const auto& e : fs::directory_iterator(sweep / "slurm")) scripts.push_back(e.path());
  REQUIRE(scripts.size() == 1);
  const std::string script = loom::test::read_text(scripts[0]);
  CHECK_THAT(script, Catch::StartsWith("#!/bin/bash\n") && Catch::Contains("#SBATCH --array=0-5%2\n") &&
                         Catch::Contains("#SBATCH --signal=B:USR1@120\n") && Catch::Contains("#SBATCH --requeue\n") &&
                         Catch::Contains("#SBATCH --partition=cpu\n") && Catch::Contains("#SBATCH --time=00:30:00\n") &&
                         Catch::Contains("#SBATCH --cpus-per-task=4\n") &&
                         Catch::Contains(cat("exec ", (loom::test::bin_dir() / "loom").string(), " sweep task ",
                                             fs::absolute(sweep).string(), " max_requeues=10\n")));
  const std::string loom_bin = (loom::test::bin_dir() / "loom").string();
  auto task = loom::test::run_command(
      cat("SLURM_ARRAY_TASK_ID=4 SLURM_CPUS_PER_TASK=1 ", loom_bin, " sweep task ", sweep.string()));
  INFO(task.output);
  REQUIRE(task.code == 0);
  CHECK(status_of(sweep, kJobs[4]).state == JobState::done);
  CHECK(count_state(sweep, JobState::done) == 1);
  CHECK_THAT(loom::test::read_text(sweep / "jobs" / kJobs[4] / "job.log"),
             Catch::Contains("optimizer.lr=0.004 train.seed=1"));

  // USR1 (the time limit is near): the job checkpoints, the task calls scontrol requeue for itself.
  fs::create_directories(root / "bin");
  std::ofstream(root / "bin" / "scontrol")
      << "#!/bin/sh\necho \"$@\" >> " << (root / "scontrol.calls").string() << "\n";
  fs::permissions(root / "bin" / "scontrol", fs::perms::owner_all);
  const pid_t pid = start_background(
      cat("PATH=", (root / "bin").string(), ":$PATH SLURM_ARRAY_JOB_ID=77 ",
          "SLURM_ARRAY_TASK_ID=5 SLURM_CPUS_PER_TASK=1 exec ", loom_bin, " sweep task ", sweep.string()),
      root / "task5.log");
  const fs::path metrics = sweep / "jobs" / kJobs[5] / "run" / "metrics.jsonl";
  REQUIRE(wait_until([&] { return fs::exists(metrics) && fs::file_size(metrics) > 0; }, 120));
  kill(pid, SIGUSR1);
  REQUIRE(wait_until([&] { return exited(pid); }, 120));
  INFO(loom::test::read_text(root / "task5.log"));
  CHECK(loom::test::read_text(root / "scontrol.calls") == "requeue 77_5\n");
  JobStatus s = status_of(sweep, kJobs[5]);
  CHECK(s.state == JobState::interrupted);
  CHECK(s.requeues == 1);
  // The requeued task continues the job from its checkpoint.
  task = loom::test::run_command(cat("SLURM_ARRAY_TASK_ID=5 ", loom_bin, " sweep task ", sweep.string()));
  REQUIRE(task.code == 0);
  CHECK(status_of(sweep, kJobs[5]).state == JobState::done);
  CHECK_THAT(loom::test::read_text(sweep / "jobs" / kJobs[5] / "job.log"), Catch::Contains("resumed from"));
  CHECK_THAT(loom::test::read_text(sweep / "jobs" / kJobs[5] / "run" / "summary.json"),
             Catch::Contains("\"steps\": 200"));

  // Submitting again covers only the rows not done; a row outside the manifest is refused.
  r = run_loom(cat("sweep ", two_by_three(root, "array"), " sweep.launcher=slurm sweep.slurm.submit=false --dry-run"));
  CHECK(r.code == 0);
  CHECK_THAT(r.output, Catch::Contains("(4 tasks)"));
  CHECK_THAT(loom::test::read_text(sweep / "jobs" / kJobs[0] / "status.json"),
             Catch::Contains("\"state\": \"pending\""));
  task = loom::test::run_command(cat("SLURM_ARRAY_TASK_ID=6 ", loom_bin, " sweep task ", sweep.string()));
  CHECK(task.code == 2);
  CHECK_THAT(task.output, Catch::Contains("index 6 is outside the manifest's 6 rows"));
  task = loom::test::run_command(cat("env -u SLURM_ARRAY_TASK_ID ", loom_bin, " sweep task ", sweep.string()));
  CHECK(task.code == 2);
  CHECK_THAT(task.output, Catch::Contains("SLURM_ARRAY_TASK_ID is not set"));
}

TEST_CASE("bad axis syntax an unknown key and an empty grid are exit 2 naming the text", "[sweep][cli]") {
  const fs::path root = loom::test::scratch("sweep_errors");
  const std::string base = cat(quickstart(), " sweep.root=", root.string(), " ");
  auto r = run_loom("sweep " + base + "optimizer.lr=0.1,,0.2");
  CHECK(r.code == 2);
  CHECK_THAT(r.output, Catch::Contains("sweep axis 'optimizer.lr=0.1,,0.2': value 2 of 3 is empty"));
  r = run_loom("sweep " + base + "'optimizer.lr=[0.1,0.2'");
  CHECK(r.code == 2);
  CHECK_THAT(r.output, Catch::Contains("'optimizer.lr=[0.1,0.2'") && Catch::Contains("missing ']'"));
  r = run_loom("sweep " + base + "optimizer.lrr=0.1,0.2");
  CHECK(r.code == 2);
  CHECK_THAT(r.output, Catch::Contains("sweep job optimizer.lrr=0.1") &&
                           Catch::Contains("unknown key 'optimizer.lrr'") &&
                           Catch::Contains("did you mean 'optimizer.lr'"));
  r = run_loom("sweep " + base + "'optimizer.lr=range(3,1)'");
  CHECK(r.code == 2);
  CHECK_THAT(r.output, Catch::Contains("'optimizer.lr=range(3,1)'") && Catch::Contains("no values"));
  r = run_loom("sweep " + base + "train.steps=10");
  CHECK(r.code == 2);
  CHECK_THAT(r.output, Catch::Contains("nothing to sweep"));
  r = run_loom("sweep " + base + "optimizer.lr=0.1,0.2 sweep.jobs=0");
  CHECK(r.code == 2);
  CHECK_THAT(r.output, Catch::Contains("sweep.jobs"));
  std::ofstream(root / "typo.yaml") << "sweep: {config: " << quickstart() << "}\ngrids: {optimizer.lr: [0.1, 0.2]}\n";
  r = run_loom(cat("sweep ", (root / "typo.yaml").string(), " sweep.root=", root.string()));
  CHECK(r.code == 2);
  CHECK_THAT(r.output, Catch::Contains("typo.yaml:2") && Catch::Contains("did you mean 'grid'"));
  std::ofstream(root / "empty.yaml") << "sweep: {config: " << quickstart() << "}\ngrid: {optimizer.lr: []}\n";
  r = run_loom(cat("sweep ", (root / "empty.yaml").string(), " sweep.root=", root.string()));
  CHECK(r.code == 2);
  CHECK_THAT(r.output, Catch::Contains("grid.optimizer.lr: the list of values is empty"));
  CHECK_FALSE(fs::exists(root / "quickstart"));  // refused before anything was written
  r = run_loom(cat("sweep table ", (root / "nowhere").string()));
  CHECK(r.code == 2);
  CHECK_THAT(r.output, Catch::Contains("not a sweep folder"));
}

TEST_CASE("a failed job lets the others finish and the sweep lists it with its log", "[sweep][cli]") {
  const fs::path root = loom::test::scratch("sweep_failure");
  const std::string args = cat(quickstart(),
                               " optimizer.lr=0.002,1e30 train.steps=40 schedule.total_steps=40 schedule.warmup_steps=5"
                               " train.eval_every=20 sweep.jobs=2 sweep.metric=val/accuracy sweep.root=",
                               root.string());
  auto r = run_loom("sweep " + args);
  INFO(r.output);
  CHECK(r.code == 4);
  CHECK_THAT(r.output, Catch::Contains("1 job(s) failed:") && Catch::Contains("optimizer.lr=1e30: exit code 3") &&
                           Catch::Contains("| error: phase 'main' at step") &&
                           Catch::Contains("done     optimizer.lr=0.002"));
  const fs::path sweep = root / "quickstart";
  CHECK(read_status(SweepLayout{sweep}.status("optimizer.lr=0.002")).state == JobState::done);
  // Failed jobs stay failed (the sweep still exits 4) until asked to run again.
  r = run_loom("sweep " + args);
  CHECK(r.code == 4);
  CHECK_THAT(r.output, Catch::Contains("0 to run") && Catch::Contains("sweep.rerun_failed=true"));
  r = run_loom("sweep " + args + " sweep.rerun_failed=true");
  CHECK(r.code == 4);
  CHECK(read_status(SweepLayout{sweep}.status("optimizer.lr=1e30")).attempts == 2);
  CHECK(read_status(SweepLayout{sweep}.status("optimizer.lr=0.002")).attempts == 1);
}

TEST_CASE("a changed base config is reported before anything runs", "[sweep][cli]") {
  const fs::path root = loom::test::scratch("sweep_changes");
  const fs::path config = root / "base.yaml";
  std::ofstream(config) << "_base_: " << quickstart() << "\ntrain: {steps: 20, eval_every: 20}\n"
                        << "schedule: {total_steps: 20, warmup_steps: 5}\n";
  const std::string args = cat(config.string(), " optimizer.lr=0.002,0.004 sweep.root=", root.string());
  auto r = run_loom("sweep " + args);
  REQUIRE(r.code == 0);
  std::ofstream(config, std::ios::app) << "optimizer: {weight_decay: 0.01}\n";
  r = run_loom("sweep " + args);
  CHECK(r.code == 2);
  CHECK_THAT(r.output, Catch::Contains("changed since its jobs ran") && Catch::Contains("the base config's content") &&
                           Catch::Contains("sweep.accept_changes=true"));
  r = run_loom("sweep " + args + " sweep.accept_changes=true");
  CHECK(r.code == 0);
  CHECK_THAT(r.output, Catch::Contains("changed (accepted): the base config's content"));
}

TEST_CASE("the shipped sweep files expand and check every job", "[sweep][cli]") {
  const fs::path root = loom::test::scratch("sweep_shipped");
  // The distillation sweep needs a trained teacher: its configs are checked, not set up.
  for (const auto& [file, jobs, extra] : std::vector<std::tuple<std::string, int, std::string>>{
           {"clip_loss_pe.yaml", 18, ""},
           {"distill_ablations.yaml", 6, " recipe.teacher=teacher sweep.check=config"}}) {
    INFO(file);
    auto r = run_loom(cat("sweep ", (loom::test::source_dir() / "configs" / "sweeps" / file).string(),
                          " sweep.root=", root.string(), extra, " --dry-run"));
    INFO(r.output);
    REQUIRE(r.code == 0);
    CHECK_THAT(r.output, Catch::Contains(cat(jobs, " jobs (", jobs, " pending), ", jobs, " to run")));
    int commands = 0;
    std::istringstream lines(r.output);
    for (std::string line; std::getline(lines, line);) commands += line.find(" train ") != std::string::npos;
    CHECK(commands == jobs);
  }
}

TEST_CASE("a sweep of multi-rank jobs launches each through torchrun", "[sweep][cli]") {
  const fs::path root = loom::test::scratch("sweep_ranks");
  auto r = run_loom(cat(quickstart(),
                        " optimizer.lr=0.002,0.004 train.steps=40 schedule.total_steps=40 schedule.warmup_steps=5"
                        " train.eval_every=20 sweep.ranks=2 sweep.cores=2 'sweep.torchrun=",
                        loom::test::python(), " -m torch.distributed.run' sweep.root=", root.string())
                        .insert(0, "sweep "));
  INFO(r.output);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.output, Catch::Contains("1 at a time, 1 thread(s) each"));  // 2 cores for 2 ranks
  for (const char* id : {"optimizer.lr=0.002", "optimizer.lr=0.004"}) {
    const std::string log = loom::test::read_text(root / "quickstart" / "jobs" / id / "job.log");
    CHECK_THAT(log, Catch::Contains("--nproc-per-node 2 --no-python") && Catch::Contains("data parallel: 2 ranks"));
    CHECK(read_status(SweepLayout{root / "quickstart"}.status(id)).state == JobState::done);
  }
}

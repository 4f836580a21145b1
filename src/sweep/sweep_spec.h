#pragma once
// What a sweep is: the base training config, the overrides every job shares, and the axes whose values
// make the jobs (expansion.h), read from the command line of `loom sweep` and optionally a sweep file:
//
//   sweep:   {config: ../clip/tiny_synthetic.yaml, name: clip_loss_pe, jobs: 2, metric: val/zero_shot/top1}
//   overrides: [train.steps=1000]                      # every job
//   grid:    {loss.name: [clip, siglip], model.vision.cropped_pe.enabled: [false, true]}  # cartesian product
//   list:    [{optimizer.lr: 0.001, train.steps: 500}, {_name: fast, optimizer.lr: 0.01}]  # explicit variants
//   random:  {draws: 8, seed: 0, parameters: {optimizer.lr: {distribution: log_uniform, min: 1.0e-4, max: 1.0e-2}}}
//   seeds:   [0, 1, 2]                                   # repeats over train.seed (mean ± std in the table)
#include <cstdint>
#include <string>
#include <vector>

#include "core/config/config_node.h"
#include "core/config/config_schema.h"
#include "sweep/axis_values.h"

namespace loom::sweep {

// The key the seed repeats set; `seed=0,1,2` on the command line is short for it.
inline constexpr const char* kSeedKey = "train.seed";

struct SlurmOptions {
  std::string partition, account, qos, time = "01:00:00", mem, gres;
  int64_t cpus_per_task = 0;  // 0 = sweep.cores, else 1 per rank
  int64_t array_parallelism = 256;
  int64_t signal_delay_s = 120;
  int64_t max_requeues = 10;
  std::vector<std::string> additional;  // extra "#SBATCH ..." lines, as written after "#SBATCH "
  std::vector<std::string> setup;       // shell lines run before the task (module load, venv)
  bool submit = true;                   // call sbatch (else only write the script)

  template <class V>
  void visit(V& v) {
    v("partition", partition, {.help = "SLURM partition"});
    v("account", account, {.help = "SLURM account"});
    v("qos", qos, {.help = "SLURM quality of service"});
    v("time", time, {.help = "time limit of each array task (HH:MM:SS)"});
    v("mem", mem, {.help = "memory per task (e.g. 16G)"});
    v("gres", gres, {.help = "generic resources per task (e.g. gpu:1)"});
    v("cpus_per_task", cpus_per_task, {.help = "CPUs per task (0 = sweep.cores)", .min = 0});
    v("array_parallelism", array_parallelism, {.help = "array tasks running at once (%P)", .min = 1});
    v("signal_delay_s", signal_delay_s, {.help = "USR1 this long before the time limit", .min = 1});
    v("max_requeues", max_requeues, {.help = "requeues of one job after time-outs", .min = 0});
    v("additional", additional, {.help = "extra #SBATCH options"});
    v("setup", setup, {.help = "shell lines before each task"});
    v("submit", submit, {.help = "submit with sbatch (else write the script only)"});
  }
};

struct SweepOptions {
  std::string config;  // sweep files: the base training config, relative to the sweep file
  std::string name;    // default: the sweep file's or the config's name
  std::string root = "runs/sweeps";
  int64_t jobs = 1;   // concurrent local jobs
  int64_t cores = 0;  // divided among concurrent jobs (0 = every core of the machine)
  int64_t ranks = 1;  // data-parallel ranks per job (torchrun locally, srun on SLURM)
  std::string torchrun;
  std::string launcher = "local";
  std::string metric;
  std::string mode;
  std::string check = "setup";
  bool rerun_failed = false;
  bool accept_changes = false;
  SlurmOptions slurm;

  template <class V>
  void visit(V& v) {
    v("config", config, {.help = "base training config (sweep files)"});
    v("name", name, {.help = "sweep name: its folder is <root>/<name>"});
    v("root", root, {.help = "folder holding every sweep"});
    v("jobs", jobs, {.help = "jobs run at once (local launcher)", .min = 1});
    v("cores", cores, {.help = "CPU cores shared by the running jobs (0 = all)", .min = 0});
    v("ranks", ranks, {.help = "data-parallel ranks per job", .min = 1});
    v("torchrun", torchrun,
      {.help = "torchrun command for ranks > 1 (default: $LOOM_PYTHON -m torch.distributed.run)"});
    v("launcher", launcher, {.help = "where jobs run", .choices = {"local", "slurm"}});
    v("metric", metric, {.help = "metric the results table sorts by"});
    v("mode", mode,
      {.help = "whether lower or higher is better (default: from the name)", .choices = {"", "min", "max"}});
    v("check", check,
      {.help = "how jobs are checked before the sweep starts: setup (build each job's recipe on the CPU) or config",
       .choices = {"setup", "config"}});
    v("rerun_failed", rerun_failed, {.help = "run failed jobs again (done ones are never rerun)"});
    v("accept_changes", accept_changes, {.help = "continue although the base config or binary changed"});
    v("slurm", slurm, {.help = "SLURM job array settings"});
  }
};

struct Axis {
  std::string key;
  std::vector<AxisValue> values;
};

using Assignment = std::vector<std::pair<std::string, AxisValue>>;  // key = value, in order

// One explicit variant of a sweep file's `list`; `name` (the entry's `_name`) stands for its keys in job
// names and tables: {_name: siglip, loss.name: siglip, model.init_logit_bias: -10}.
struct ListEntry {
  std::string name;
  Assignment values;
};

struct RandomParameter {
  std::string key;
  std::string distribution;  // uniform | log_uniform | int_uniform | choice
  double min = 0, max = 0;
  std::vector<AxisValue> values;  // choice
};

struct SweepSpec {
  SweepOptions options;
  std::string config;              // base training config as given (a path)
  std::string source;              // the sweep file, or the config for a command-line sweep
  std::vector<std::string> fixed;  // key=value overrides every job gets
  std::vector<Axis> grid;
  std::vector<ListEntry> list;
  int64_t random_draws = 0;
  uint64_t random_seed = 0;
  std::vector<RandomParameter> random;
  std::vector<AxisValue> seeds;
};

// `loom sweep FILE key=value ...`: FILE is a sweep file (a top-level `sweep:` section naming `config`)
// or a training config. Command-line values in multirun syntax add grid axes (`seed=` adds repeats),
// single values are fixed overrides, `sweep.*` set options. UserError / ConfigError naming the key,
// file or value for bad syntax, unknown sweep-file keys, bad distributions.
SweepSpec read_sweep_spec(const std::string& file, const std::vector<std::string>& arguments);

// True when the YAML file is a sweep file rather than a training config.
bool is_sweep_file(const ConfigNode& root);

}  // namespace loom::sweep

#pragma once
// What the trainer reads before it builds anything: its own config sections (`train`, `output`,
// `resume`), the recipe, the device, and where this process sits in a data-parallel job.
#include <memory>
#include <string>

#include <c10/core/Device.h>

#include "core/config/config_node.h"
#include "train/recipe.h"
#include "train/run_directory.h"
#include "train/train_options.h"

namespace loom {

struct RunConfig {
  TrainOptions train;
  OutputOptions output;
  std::string resume = "none";  // none | auto | a checkpoint path
  std::shared_ptr<Recipe> recipe;
  c10::Device device{c10::kCPU};
  LaunchEnvironment launch;             // rank 0 of 1 without a launcher
  std::shared_ptr<ProcessGroup> group;  // null in a single process
  bool main() const { return launch.rank == 0; }
};

// Every check of a training config that touches nothing outside the process, shared by `loom train`,
// `loom config` and `loom info`: builds the recipe (which reads its sections), reads the sections the
// trainer owns and rejects unknown top-level keys. Leaves device, launch and group at their defaults.
RunConfig check_run_config(const ConfigNode& config);

// check_run_config, then picks the device and, when launched with several ranks, joins the process group.
RunConfig read_run_config(const ConfigNode& config);

// Seeds, runs the recipe's setup and makes every rank start from rank 0's weights; afterwards each
// rank's generator is seeded from (seed, rank).
TrainSetup build_setup(RunConfig& run, const ConfigNode& config);

// `auto` is cuda:<local rank> where CUDA exists, else the CPU; ConfigError for a bad or absent device.
c10::Device pick_device(const std::string& name, int64_t local_rank = 0);

}  // namespace loom

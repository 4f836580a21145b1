#pragma once
// What a training checkpoint holds beyond tensors, and the packing of a recipe's modules, EMA copies
// and optimizers into a checkpoint and back.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/io/checkpoint.h"
#include "data/loader.h"
#include "train/frozen_modules.h"
#include "train/recipe.h"

namespace loom {

struct TrainCounters {
  int64_t step = 0;
  int64_t images_seen = 0;
  int64_t nan_skipped = 0;
  data::LoaderPosition loader;
  int64_t world_size = 1;  // of the run that wrote the checkpoint, with its per-rank batch size: a
  int64_t batch_size = 0;  // resume with other values maps the loader position by samples consumed
  std::map<std::string, std::vector<double>> loss_scales;  // per optimizer (fp16 only)
  std::map<std::string, double> recipe;                    // Recipe::counters()
  std::map<std::string, FrozenRecord> frozen;              // what the frozen modules were
  std::map<std::string, std::string> optimizers;           // optimizer_signature() of each

  std::string to_json() const;
  // `source` names the checkpoint in errors.
  static TrainCounters from_json(const std::string& json, const std::string& source);
};

// The loader position that consumes the same samples of the epoch with `samples_per_batch` (all
// ranks) as `position` did with `old_samples_per_batch`. Throws UserError when they do not divide.
data::LoaderPosition rescale_loader_position(const data::LoaderPosition& position, int64_t old_samples_per_batch,
                                             int64_t samples_per_batch);

// Modules ("module.<name>.<key>"), EMA copies ("ema.<name>.<key>"), RNG states, optimizer archives
// (blobs "optimizer.<name>"), the resolved config (blob "config.yaml") and the counters.
CheckpointContents pack_checkpoint(const TrainSetup& setup, const TrainCounters& counters,
                                   const std::string& config_yaml);

// The optimizer's class and its parameter groups' tensor counts ("torch::optim::AdamW [12, 4]"):
// recorded in each checkpoint, because LibTorch asserts when one optimizer's state is loaded into another.
std::string optimizer_signature(const torch::optim::Optimizer& optimizer);

// Loads module and EMA states (strict: every key must match). Throws CheckpointMismatch naming the
// checkpoint when the config's modules differ from the checkpoint's.
void restore_modules(const TrainSetup& setup, const LoadedCheckpoint& checkpoint);
// Optimizer states and RNG states. CheckpointMismatch when an optimizer differs from the one recorded
// in `saved`; UserError when a state cannot be read.
void restore_optimizers_and_rng(const TrainSetup& setup, const LoadedCheckpoint& checkpoint,
                                const TrainCounters& saved);

}  // namespace loom

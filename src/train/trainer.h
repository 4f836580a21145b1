#pragma once
// The one trainer (docs/ARCHITECTURE.md "The recipe contract"): builds the recipe named in the config, then runs its
// phases step by step with everything a recipe should not repeat.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "core/config/config_node.h"
#include "core/error.h"
#include "core/metrics/metrics_writer.h"
#include "train/run_directory.h"

namespace loom {

// A non-finite loss stopped the run (nan_policy: stop). The CLI exits with code 3.
struct TrainingDiverged : UserError {
  using UserError::UserError;
};

struct TrainResult {
  RunDirectory run;
  int64_t steps = 0;         // steps completed (total, including those before a resume)
  bool interrupted = false;  // stopped by SIGINT/SIGTERM (a checkpoint was written)
  int64_t nan_skipped = 0;   // phase steps skipped for non-finite losses (nan_policy: skip)
  int64_t bad_samples = 0;   // unreadable training samples skipped
  Scalars final_metrics;     // the last evaluation
  std::filesystem::path last_checkpoint;
};

// Trains the run described by `config` (resolved: bases and overrides applied). `config_path` names
// the experiment by default and appears in messages.
TrainResult train(const ConfigNode& config, const std::string& config_path);

// Loads a checkpoint (a step folder, a checkpoints/ folder or a run folder: its latest) or a weight
// file (.safetensors/.pt, into the recipe's `model`) and runs the recipe's evaluation.
Scalars evaluate(const ConfigNode& config, const std::filesystem::path& checkpoint);

}  // namespace loom

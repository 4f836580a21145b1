#pragma once
// Training checkpoints: one folder per save under a run's checkpoints/ folder, written under a temporary
// name and renamed, with a manifest (size and CRC32C of every file) written last, so a partial or
// corrupt folder is detected (core/io/checkpoint_manifest.h). `latest` names the newest complete one;
// keep-last-N and keep-best prune.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/config/config_schema.h"
#include "core/error.h"
#include "core/io/weights.h"

namespace loom {

struct CheckpointContents {
  weights::NamedTensors tensors;             // module and EMA states, RNG states: one safetensors file
  std::string state_json;                    // counters, positions, schedule state (a JSON object as text)
  std::map<std::string, std::string> blobs;  // name -> bytes (optimizer archives, resolved config)
};

struct CheckpointOptions {
  int64_t keep_last = 3;          // newest complete checkpoints kept (0 = keep all)
  std::string best_metric;        // also keep the best checkpoint by this metric ("" = none)
  std::string best_mode = "min";  // "min" or "max"

  template <class V>
  void visit(V& v) {
    v("keep_last", keep_last, {.help = "newest checkpoints kept (0 = all)", .min = 0});
    v("best_metric", best_metric, {.help = "metric whose best checkpoint is kept as well"});
    v("best_mode", best_mode, {.help = "min or max of best_metric", .choices = {"min", "max"}});
  }
};

// Thrown by a restore when the checkpoint is sound but does not fit the run (another optimizer, another
// model shape): a reason to stop, never to fall back to an older checkpoint.
struct CheckpointMismatch : UserError {
  using UserError::UserError;
};

struct LoadedCheckpoint {
  std::filesystem::path path;
  int64_t step = 0;
  CheckpointContents contents;
};

class CheckpointStore {
 public:
  CheckpointStore(std::filesystem::path dir, CheckpointOptions options);

  // Writes step-<step>/ atomically, updates `latest` (and `best` when `metrics` improve best_metric),
  // then prunes. `metrics` are recorded in the manifest. Returns the folder. Throws UserError on I/O errors.
  std::filesystem::path save(int64_t step, const CheckpointContents& contents,
                             const std::map<std::string, double>& metrics = {});

  // The newest complete checkpoint: `latest` first; a corrupt or partial one is skipped with a warning
  // naming it, in favour of the previous one. Empty when there is none.
  std::optional<LoadedCheckpoint> load_latest() const;

  // Resuming: the newest checkpoint that verifies and that `restore` accepts. A folder that fails either
  // way (other than by CheckpointMismatch, which propagates) is moved to unreadable/ with a warning,
  // kept and never pruned, and the previous one is tried. nullopt when there is no checkpoint at all;
  // UserError when there were some and none could be restored.
  std::optional<LoadedCheckpoint> restore_latest(const std::function<void(const LoadedCheckpoint&)>& restore);

  // One checkpoint folder (or a run's checkpoints/ folder, meaning its latest); UserError when corrupt.
  static LoadedCheckpoint load(const std::filesystem::path& path);

  // Complete-looking checkpoint folders, oldest first (not verified).
  std::vector<std::filesystem::path> list() const;
  const std::filesystem::path& dir() const { return dir_; }

 private:
  void cleanup_leftovers();
  void set_aside(const std::filesystem::path& folder, const std::string& why);
  std::optional<std::pair<std::string, double>> current_best(const std::string& excluded) const;
  void prune(const std::string& just_written, const std::string& best) const;

  std::filesystem::path dir_;
  CheckpointOptions options_;
  std::vector<std::string> unmovable_;  // unreadable folders that could not be set aside: never pruned
};

}  // namespace loom

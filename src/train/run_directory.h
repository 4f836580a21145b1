#pragma once
// A run's output folder: <root>/<name>/<id>/ holding the resolved config, the log, metrics (JSONL and
// TensorBoard events), checkpoints, sample images and the summary of how it ended.
#include <filesystem>
#include <string>

#include "core/config/config_schema.h"

namespace loom {

struct OutputOptions {
  std::string root = "runs";
  std::string name;  // default: the config file's name without extension
  std::string id;    // default: the start time, YYYYmmdd-HHMMSS

  template <class V>
  void visit(V& v) {
    v("root", root, {.help = "folder holding every run"});
    v("name", name, {.help = "experiment name (default: the config file name)"});
    v("id", id, {.help = "run id (default: the start time)"});
  }
};

struct RunDirectory {
  std::filesystem::path dir;
  std::filesystem::path config() const { return dir / "config.yaml"; }
  std::filesystem::path log() const { return dir / "train.log"; }
  std::filesystem::path metrics() const { return dir / "metrics.jsonl"; }
  std::filesystem::path tensorboard() const { return dir / "tensorboard"; }
  std::filesystem::path checkpoints() const { return dir / "checkpoints"; }
  std::filesystem::path samples() const { return dir / "samples"; }
  // Written when the trainer returns: {"status": "finished" | "interrupted", "steps", "total_steps",
  // "final_metrics", ...}, so a sweep (or a script) tells a finished run from a stopped one.
  std::filesystem::path summary() const { return dir / "summary.json"; }
};

// Creates the run's folder and checks that it can be written: a UserError naming output.root when
// the root is a file, read-only or not creatable (before any log, metric or checkpoint is opened).
void create_run_directory(const RunDirectory& run, const OutputOptions& options);

// The local time as a run id: YYYYmmdd-HHMMSS (sortable: the greatest is the newest).
std::string run_timestamp();

// The folder of a run. With `continue_latest` and no explicit id, the newest existing run of that
// name that holds a checkpoint (so `resume=auto` finds it); otherwise a new id.
RunDirectory resolve_run_directory(const OutputOptions& options, const std::string& config_path, bool continue_latest);

}  // namespace loom

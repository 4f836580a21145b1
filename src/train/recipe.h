#pragma once
// A recipe is a training method (DESIGN.md "Recipe and phases"). It builds its modules, data and
// optimizers from the config and returns phases; the Trainer runs them and owns everything else
// (step loop, accumulation, clipping, mixed precision, EMA, schedules, cadence, checkpoints, resume).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "core/config/config_node.h"
#include "core/metrics/metrics_writer.h"
#include "data/sample.h"

namespace torch::nn {
class Module;
}
namespace torch::optim {
class Optimizer;
}
namespace loom::data {
class Dataset;
}

namespace loom {

class Schedule;
class ProcessGroup;

struct LossOutput {
  at::Tensor loss;  // scalar; the trainer runs backward on it
  Scalars logs;     // extra figures of this micro-batch (averaged over micro-batches and logged)
};

// Where a phase stands when its loss closure runs.
struct StepInfo {
  int64_t step = 0;          // optimizer steps of the run so far (0-based index of this step)
  int64_t images_seen = 0;   // training images consumed before this step, all ranks
  int64_t micro_batch = 0;   // index within the gradient-accumulation round
  int64_t micro_batches = 1;
};

struct Phase {
  std::string name;                  // "main", "G", "Greg", "D", "Dreg" ...: names logs and errors
  std::vector<at::Tensor> parameters;  // trained by this phase; everything else gets no gradient
  std::string optimizer;             // key into TrainSetup::optimizers (phases may share one)
  int64_t interval = 1;              // runs on steps where step % interval == 0
  std::function<LossOutput(const data::Batch&, const StepInfo&)> loss;
};

struct OptimizerSlot {
  std::shared_ptr<torch::optim::Optimizer> optimizer;
  std::shared_ptr<Schedule> schedule;  // multiplies every group's initial lr; null = constant
};

// An exponential moving average of `source`, kept in `target` (a second instance of the same module).
struct EmaPair {
  std::shared_ptr<torch::nn::Module> source;
  std::shared_ptr<torch::nn::Module> target;
};

struct TrainSetup {
  std::map<std::string, std::shared_ptr<torch::nn::Module>> modules;  // checkpointed under their names
  std::map<std::string, OptimizerSlot> optimizers;
  std::map<std::string, EmaPair> ema;  // by name; the trainer's `ema` options say how fast
  std::vector<Phase> phases;           // run in this order within a step
  std::shared_ptr<const data::Dataset> train_data;
};

// What a recipe gets to build with.
struct RecipeContext {
  const ConfigNode& config;  // the whole resolved config
  c10::Device device;
  uint64_t seed = 0;
  // The data-parallel group (null in a single process). The trainer averages gradients; recipes use it
  // only where a loss must see the global batch (contrastive losses gather features).
  std::shared_ptr<ProcessGroup> group;
};

// Evaluation and sample writing. Modules are in eval mode and gradients are off.
struct EvalContext {
  c10::Device device;
  int64_t step = 0;
  MetricsWriter* metrics = nullptr;      // TensorBoard/JSONL sinks (sample images go here)
  std::filesystem::path samples_dir;     // where sample images are written as files ("" = nowhere)
};

class Recipe {
 public:
  virtual ~Recipe() = default;
  // Top-level config sections this recipe reads besides `recipe`, `train` and `output`; any other
  // key is reported as unknown.
  virtual std::vector<std::string> sections() const = 0;
  virtual TrainSetup setup(const RecipeContext& context) = 0;
  // Metrics named "val/..." etc. Called at the eval cadence, at the end, and by `loom eval`.
  virtual Scalars evaluate(const EvalContext& context) = 0;
  // Sample images (GANs); optional.
  virtual void write_samples(const EvalContext&) {}
  // Counters that are not module buffers but must survive resume (augmentation p, ...).
  virtual std::map<std::string, double> counters() const { return {}; }
  virtual void set_counters(const std::map<std::string, double>&) {}
  // `loom eval ckpt=FILE` with a weight file: loads it into the setup's modules. The default loads it
  // strictly into the module "model" (and its EMA copy, if any).
  virtual void load_weight_file(const TrainSetup& setup, const std::filesystem::path& path);
};

}  // namespace loom

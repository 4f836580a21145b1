#pragma once
// A recipe is a training method (docs/ARCHITECTURE.md "The recipe contract"). It builds its modules,
// data and optimizers from the config and returns phases; the Trainer runs them and owns everything
// else (step loop, accumulation, clipping, mixed precision, EMA, schedules, cadence, checkpoints, resume).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
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

// Named scalar tensors (any device). The trainer accumulates them where they are and reads them back
// once per `log_every` steps (one all-reduce and one host copy for all of them), so a closure never
// has to call item().
using TensorFigures = std::vector<std::pair<std::string, at::Tensor>>;

// What a phase's closure returns for one micro-batch.
struct LossOutput {
  LossOutput() = default;
  // One loss: backward runs on it; logged as train/<phase>/loss.
  LossOutput(at::Tensor loss, TensorFigures figures = {});
  // Several named losses (detectron2's loss dict): backward runs on their sum, logged as
  // train/<phase>/loss, and each is logged as train/<phase>/<name>.
  LossOutput(TensorFigures named_losses, TensorFigures figures);

  TensorFigures losses;   // at least one scalar
  TensorFigures figures;  // extra figures of this micro-batch, averaged over the logging window
  at::Tensor total() const;
};

// Where a step stands: passed to the phases' closures and to the recipe's step hooks.
struct StepInfo {
  int64_t step = 0;         // optimizer steps of the run so far (0-based index of this step)
  int64_t images_seen = 0;  // training images consumed before this step, all ranks (after_step: including it)
  int64_t micro_batch = 0;  // index within the gradient-accumulation round
  int64_t micro_batches = 1;
};

struct Phase {
  std::string name;                    // "main", "G", "Greg", "D", "Dreg" ...: names logs and errors
  std::vector<at::Tensor> parameters;  // trained by this phase; everything else gets no gradient
  std::string optimizer;               // key into TrainSetup::optimizers (phases may share one)
  int64_t interval = 1;                // runs on steps where step % interval == 0 ...
  std::function<LossOutput(const data::Batch&, const StepInfo&)> loss;
  int64_t start = 0;                       // ... from this step on ...
  int64_t stop = -1;                       // ... up to (not including) this one; -1 = to the end ...
  std::function<bool(int64_t step)> when;  // ... and where this predicate (if any) holds

  bool due(int64_t step) const;
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

// A module that is used but never trained: a distillation teacher, a perceptual network, a frozen
// encoder. The trainer keeps it on the device in eval mode (BatchNorm statistics and w_avg stay put),
// without requires_grad (gradients still flow through it to its inputs), outside checkpoints (which
// record `source` and a hash of its contents instead; resuming with other weights is an error) and
// outside the buffer broadcast. Every rank builds it the same way (same file, or same seed).
struct FrozenModule {
  std::shared_ptr<torch::nn::Module> module;
  std::string source;  // the weight file it was loaded from; "" = as built by the recipe from the seed
};

// Evaluation and sample writing. Modules are in eval mode and gradients are off.
struct EvalContext {
  c10::Device device;
  int64_t step = 0;
  MetricsWriter* metrics = nullptr;   // TensorBoard/JSONL sinks (sample images go here)
  std::filesystem::path samples_dir;  // where sample images are written as files ("" = nowhere)
};

// Work the trainer runs between steps at its own cadence (detectron2's hooks as entries): the trainer's
// own evaluation, samples and checkpoints, and a recipe's extra ones (FID every 10k steps, a cheap
// reconstruction metric every 1k). Runs in eval mode without gradients on every rank; the training
// random streams continue afterwards as if it had not run.
struct PeriodicTask {
  std::string name;
  int64_t every = 0;                               // steps between runs; 0 = only at the end
  bool at_end = true;                              // also once after the last step
  std::function<Scalars(const EvalContext&)> run;  // metrics it returns are logged (rank 0)
};

struct TrainSetup {
  std::map<std::string, std::shared_ptr<torch::nn::Module>> modules;  // checkpointed under their names
  std::map<std::string, FrozenModule> frozen;
  std::map<std::string, OptimizerSlot> optimizers;
  std::map<std::string, EmaPair> ema;  // by name; the trainer's `ema` options say how fast
  std::vector<Phase> phases;           // run in this order within a step
  std::vector<PeriodicTask> tasks;     // run after evaluation and samples, before the checkpoint
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
  // Once per step, outside every phase (ADA's p update, latents drawn around style images): before the
  // step's first phase and after its last one (and after EMA updates). Every rank calls them.
  virtual void before_step(const StepInfo&) {}
  virtual void after_step(const StepInfo&) {}
  // Counters that are not module buffers but must survive resume (augmentation p, ...). They are
  // checkpointed, not logged: a figure worth plotting is a phase figure or an evaluation metric.
  virtual std::map<std::string, double> counters() const { return {}; }
  virtual void set_counters(const std::map<std::string, double>&) {}
  // `loom eval ckpt=FILE` with a weight file: loads it into the setup's modules. The default loads it
  // strictly into the module "model" (and its EMA copy, if any).
  virtual void load_weight_file(const TrainSetup& setup, const std::filesystem::path& path);
};

}  // namespace loom

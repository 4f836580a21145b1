#include "train/trainer.h"

#include <cmath>
#include <cstdio>
#include <optional>
#include <set>

#include <ATen/Parallel.h>
#include <ATen/core/Generator.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <c10/core/GradMode.h>
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>
#include <torch/utils.h>

#include "core/io/atomic_file.h"
#include "core/io/checkpoint.h"
#include "core/config/config_error.h"
#include "core/metrics/jsonl_writer.h"
#include "core/log.h"
#include "core/registry/registries.h"
#include "core/metrics/tensorboard_writer.h"
#include "data/dataset.h"
#include "train/optim/schedules.h"
#include "train/progress.h"
#include "train/distributed/agreement.h"
#include "train/distributed/gradient_reducer.h"
#include "train/rng_state.h"
#include "train/run_config.h"
#include "train/stop_signal.h"
#include "train/train_options.h"
#include "train/training_state.h"

namespace loom {

namespace {

// One training run from start (or resume) to the end or a stop signal.
class TrainingLoop {
 public:
  TrainingLoop(RunConfig run, TrainSetup setup, const ConfigNode& config, const std::string& config_path);
  TrainResult run();

 private:
  void freeze_untrained_parameters();
  void restore();
  void step();
  void run_phase(const Phase& phase, const std::vector<data::Batch>& batches);
  std::vector<data::Batch> next_batches(int64_t& images);
  void log_metrics();
  Scalars evaluate_and_sample(bool evaluate, bool samples);
  void save_checkpoint(const Scalars& metrics);
  void restore_rng(const LoadedCheckpoint& checkpoint);
  std::string progress_figures() const;

  RunConfig run_;
  TrainSetup setup_;
  std::string config_yaml_;
  RunDirectory dir_;
  MultiWriter metrics_;
  std::unique_ptr<data::Loader> loader_;
  std::unique_ptr<CheckpointStore> store_;
  std::map<std::string, LossScaler> scalers_;
  std::map<std::string, std::unique_ptr<GradientReducer>> reducers_;  // per optimizer, data-parallel runs only
  std::map<std::string, std::vector<double>> base_lrs_;  // per optimizer group, before schedules
  TrainCounters counters_;
  int64_t total_steps_ = 0;
  // Sums over the current logging window: name -> (sum, count); and the newest loss per phase.
  std::map<std::string, std::pair<double, int64_t>> window_;
  std::vector<std::pair<std::string, double>> last_loss_;
  TrainResult result_;
};

TrainingLoop::TrainingLoop(RunConfig run, TrainSetup setup, const ConfigNode& config, const std::string& config_path)
    : run_(std::move(run)), setup_(std::move(setup)), config_yaml_(to_yaml(config)) {
  if (!setup_.train_data) throw std::logic_error("recipe returned no training data");
  for (const auto& phase : setup_.phases)
    if (!setup_.optimizers.count(phase.optimizer))
      throw std::logic_error(cat("phase '", phase.name, "' names unknown optimizer '", phase.optimizer, "'"));

  freeze_untrained_parameters();
  // Rank 0 names the run folder (its default id is a time stamp) and alone writes into it.
  std::string dir = run_.main() ? resolve_run_directory(run_.output, config_path, run_.resume == "auto").dir.string() : "";
  dir_ = RunDirectory{run_.group ? broadcast_string(*run_.group, dir) : dir};
  if (run_.main()) {
    log::set_file(dir_.log().string());
    write_file_atomically(dir_.config(), config_yaml_);
    metrics_.add(std::make_unique<JsonlWriter>(dir_.metrics()));
    metrics_.add(std::make_unique<TensorBoardWriter>(dir_.tensorboard()));
    store_ = std::make_unique<CheckpointStore>(dir_.checkpoints(), run_.train.checkpoint);
  }

  loader_ = std::make_unique<data::Loader>(setup_.train_data, run_.train.loader, static_cast<uint64_t>(run_.train.seed),
                                           run_.launch.rank, run_.launch.world_size);
  if (run_.group) {
    // One reducer per optimizer: phases that share one (a main and a lazy-regularisation phase) train
    // the same parameters, and a parameter takes one reducer's hook.
    std::map<std::string, std::vector<at::Tensor>> parameters;
    for (const auto& phase : setup_.phases) {
      auto& list = parameters[phase.optimizer];
      for (const auto& p : phase.parameters)
        if (std::none_of(list.begin(), list.end(), [&](const at::Tensor& q) { return q.is_same(p); })) list.push_back(p);
    }
    for (auto& [name, list] : parameters)
      reducers_[name] = std::make_unique<GradientReducer>(run_.group, list, static_cast<int64_t>(run_.train.bucket_mb * (1 << 20)));
  }
  int64_t per_epoch = (loader_->batches_per_epoch() + run_.train.accumulate - 1) / run_.train.accumulate;
  total_steps_ = run_.train.steps > 0 ? run_.train.steps : run_.train.epochs * per_epoch;

  for (auto& [name, slot] : setup_.optimizers) {
    scalers_.emplace(name, LossScaler(run_.train.amp, run_.device));
    for (auto& group : slot.optimizer->param_groups()) base_lrs_[name].push_back(group.options().get_lr());
  }
  LOOM_INFO("run folder ", dir_.dir.string(), " | data: ", setup_.train_data->describe(), " | ", total_steps_,
            " steps of ", run_.train.accumulate, " x ", run_.train.loader.batch_size, " samples on ", run_.device.str());
}

// Parameters of the recipe's modules that no phase trains (a frozen teacher, encoder, early layers)
// never get gradients, so backward skips them.
void TrainingLoop::freeze_untrained_parameters() {
  std::set<const void*> trained;
  for (const auto& phase : setup_.phases)
    for (const auto& p : phase.parameters) trained.insert(p.unsafeGetTensorImpl());
  int64_t frozen = 0;
  for (const auto& [name, module] : setup_.modules)
    for (auto& p : module->parameters())
      if (!trained.count(p.unsafeGetTensorImpl()) && p.requires_grad()) {
        p.requires_grad_(false);
        frozen += p.numel();
      }
  if (frozen) LOOM_INFO("frozen: ", frozen, " parameters that no phase trains");
}

void TrainingLoop::restore() {
  std::optional<LoadedCheckpoint> checkpoint;
  if (run_.resume == "auto") {
    // Rank 0 picks the newest sound checkpoint; the others load the same one.
    if (run_.main()) checkpoint = store_->load_latest();
    std::string path = checkpoint ? checkpoint->path.string() : "";
    if (run_.group) path = broadcast_string(*run_.group, path);
    if (!run_.main() && !path.empty()) checkpoint = CheckpointStore::load(path);
    if (!checkpoint) LOOM_INFO("resume=auto: no checkpoint in ", dir_.checkpoints().string(), ", starting fresh");
  } else if (run_.resume != "none") {
    checkpoint = CheckpointStore::load(run_.resume);
  }
  if (!checkpoint) return;
  restore_modules(setup_, *checkpoint);
  restore_optimizers_and_rng(setup_, *checkpoint);
  counters_ = TrainCounters::from_json(checkpoint->contents.state_json, checkpoint->path.string());
  restore_rng(*checkpoint);
  const int64_t batch = run_.train.loader.batch_size, world = run_.launch.world_size;
  if (counters_.batch_size > 0 && counters_.batch_size * counters_.world_size != batch * world) {
    LOOM_WARN("resuming with ", world, " ranks x ", batch, " samples per batch (checkpoint: ", counters_.world_size, " x ",
              counters_.batch_size, "): the data position is recomputed from the samples consumed");
    counters_.loader = rescale_loader_position(counters_.loader, counters_.batch_size * counters_.world_size, batch * world);
  }
  for (auto& [name, scaler] : scalers_)
    if (counters_.loss_scales.count(name)) scaler.set_state(counters_.loss_scales[name]);
  run_.recipe->set_counters(counters_.recipe);
  loader_->seek(counters_.loader);
  LOOM_INFO("resumed from ", checkpoint->path.string(), " at step ", counters_.step, " (", counters_.images_seen, " images seen)");
}

std::vector<data::Batch> TrainingLoop::next_batches(int64_t& images) {
  std::vector<data::Batch> batches;
  images = 0;
  for (int64_t i = 0; i < run_.train.accumulate; ++i) {
    std::optional<data::Batch> batch = loader_->next();
    if (!batch) throw std::logic_error("a repeating loader ran dry");
    for (auto& [key, tensor] : batch->tensors) tensor = tensor.to(run_.device, /*non_blocking=*/true);
    images += batch->size();
    batches.push_back(std::move(*batch));
  }
  return batches;
}

void TrainingLoop::run_phase(const Phase& phase, const std::vector<data::Batch>& batches) {
  // Only this phase's parameters collect gradients; the others' modules still pass gradients through.
  for (const auto& other : setup_.phases)
    for (const auto& p : other.parameters) p.requires_grad_(false);
  for (const auto& p : phase.parameters) {
    p.requires_grad_(true);
    p.mutable_grad().reset();
  }
  LossScaler& scaler = scalers_.at(phase.optimizer);
  GradientReducer* reducer = reducers_.count(phase.optimizer) ? reducers_.at(phase.optimizer).get() : nullptr;
  const auto micro = static_cast<int64_t>(batches.size());
  double loss_sum = 0;
  for (int64_t m = 0; m < micro; ++m) {
    StepInfo info{counters_.step, counters_.images_seen, m, micro};
    LossOutput out;
    {
      AutocastScope autocast(run_.device.type(), run_.train.amp);
      out = phase.loss(batches[static_cast<size_t>(m)], info);
    }
    double value = out.loss.item<double>();
    // Every rank must take the same branch, or the collectives below would not pair up.
    bool finite = std::isfinite(value);
    if (run_.group && any_rank(*run_.group, !finite)) finite = false;
    if (!finite) {
      std::string what = cat("phase '", phase.name, "' at step ", counters_.step, ": loss is ",
                             std::isfinite(value) ? cat("not finite on another rank") : cat(value));
      if (run_.train.nan_policy == "stop")
        throw TrainingDiverged(cat(what, "; stopping (set train.nan_policy=skip to skip such steps)"));
      LOOM_WARN(what, "; step skipped (", ++counters_.nan_skipped, " so far)");
      for (const auto& p : phase.parameters) p.mutable_grad().reset();
      return;
    }
    loss_sum += value;
    for (const auto& [key, v] : out.logs) {
      auto& slot = window_[cat("train/", phase.name, "/", key)];
      slot.first += v;
      slot.second += 1;
    }
    if (reducer) reducer->prepare(/*sync=*/m == micro - 1);  // accumulate locally until the last micro-batch
    scaler.scale(out.loss / static_cast<double>(micro)).backward();
  }
  if (reducer) reducer->finish();
  auto& loss_slot = window_[cat("train/", phase.name, "/loss")];
  loss_slot.first += loss_sum / static_cast<double>(micro);
  loss_slot.second += 1;
  std::erase_if(last_loss_, [&](const auto& e) { return e.first == phase.name; });
  last_loss_.emplace_back(phase.name, loss_sum / static_cast<double>(micro));

  bool clean = scaler.unscale(phase.parameters);
  if (run_.train.clip_grad.mode != "none") {
    auto& norm_slot = window_[cat("train/", phase.name, "/grad_norm")];
    norm_slot.first += clip_gradients(phase.parameters, run_.train.clip_grad);
    norm_slot.second += 1;
  }
  OptimizerSlot& slot = setup_.optimizers.at(phase.optimizer);
  double factor = slot.schedule ? slot.schedule->factor(counters_.step) : 1.0;
  auto& groups = slot.optimizer->param_groups();
  for (size_t g = 0; g < groups.size(); ++g) groups[g].options().set_lr(base_lrs_.at(phase.optimizer)[g] * factor);
  if (clean) slot.optimizer->step();
  scaler.update();
  for (const auto& p : phase.parameters) p.mutable_grad().reset();
}

void TrainingLoop::step() {
  int64_t images = 0;
  std::vector<data::Batch> batches = next_batches(images);
  images *= run_.launch.world_size;  // every rank consumes an equal share of the global batch
  for (const auto& phase : setup_.phases)
    if (counters_.step % phase.interval == 0) run_phase(phase, batches);
  if (run_.group && run_.train.distributed.buffers == "broadcast") {
    std::vector<at::Tensor> buffers;
    for (const auto& [name, module] : setup_.modules)
      for (const auto& b : module->buffers()) buffers.push_back(b);
    if (!buffers.empty()) run_.group->broadcast(buffers, 0);
  }
  for (auto& [name, pair] : setup_.ema)
    ema_update(*pair.target, *pair.source, ema_beta(run_.train.ema, counters_.step, images, counters_.images_seen));
  counters_.images_seen += images;
  counters_.step += 1;
  counters_.loader = loader_->position();
}

std::string TrainingLoop::progress_figures() const {
  auto figure = [](double value) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.4g", value);
    return std::string(buffer);
  };
  std::string out;
  for (const auto& [phase, loss] : last_loss_) out += cat(out.empty() ? "" : "  ", "loss/", phase, " ", figure(loss));
  for (const auto& [name, slot] : setup_.optimizers) {
    const auto& groups = slot.optimizer->param_groups();
    if (!groups.empty()) out += cat("  lr/", name, " ", figure(groups[0].options().get_lr()));
  }
  return out;
}

void TrainingLoop::log_metrics() {
  // Every rank logs the same keys in the same order, so sums and counts reduce element-wise.
  std::vector<double> sums;
  for (const auto& [name, slot] : window_) {
    sums.push_back(slot.first);
    sums.push_back(static_cast<double>(slot.second));
  }
  if (run_.group) sum_over_ranks(*run_.group, sums);
  Scalars scalars;
  size_t i = 0;
  for (const auto& [name, slot] : window_) {
    scalars.emplace_back(name, sums[i] / sums[i + 1]);
    i += 2;
  }
  window_.clear();
  if (!run_.main()) return;
  for (const auto& [name, slot] : setup_.optimizers)
    if (!slot.optimizer->param_groups().empty()) scalars.emplace_back(cat("lr/", name), slot.optimizer->param_groups()[0].options().get_lr());
  scalars.emplace_back("progress/images_seen", static_cast<double>(counters_.images_seen));
  scalars.emplace_back("progress/bad_samples", static_cast<double>(loader_->bad_samples()));
  if (counters_.nan_skipped) scalars.emplace_back("progress/nan_skipped", static_cast<double>(counters_.nan_skipped));
  for (const auto& [name, scaler] : scalers_)
    if (scaler.active()) scalars.emplace_back(cat("amp/loss_scale/", name), scaler.current());
  for (const auto& [name, value] : run_.recipe->counters()) scalars.emplace_back(cat("recipe/", name), value);
  metrics_.add_scalars(counters_.step, scalars);
}

Scalars TrainingLoop::evaluate_and_sample(bool evaluate, bool samples) {
  // Evaluation and samples may draw random numbers (latents, noise; samples on rank 0 only); the
  // training streams continue as if they had not, so the eval cadence never changes training.
  const weights::NamedTensors rng = capture_rng_state();
  for (auto& [name, module] : setup_.modules) module->eval();
  Scalars metrics;
  {
    c10::NoGradGuard no_grad;
    // Every rank evaluates (no rank idles into a collective timeout); rank 0 writes.
    EvalContext context{run_.device, counters_.step, run_.main() ? &metrics_ : nullptr, dir_.samples()};
    if (evaluate) {
      metrics = run_.recipe->evaluate(context);
      std::string line;
      for (const auto& [name, value] : metrics) line += cat(line.empty() ? "" : "  ", name, " ", value);
      LOOM_INFO("eval at step ", counters_.step, ": ", line.empty() ? "(no metrics)" : line);
      if (run_.main()) metrics_.add_scalars(counters_.step, metrics);
    }
    if (samples && run_.main()) run_.recipe->write_samples(context);
  }
  for (auto& [name, module] : setup_.modules) module->train();
  restore_rng_state(rng);
  metrics_.flush();
  return metrics;
}

void TrainingLoop::save_checkpoint(const Scalars& metrics) {
  // Each rank's generators go into the checkpoint (rank 0 writes it), so a resume on the same number
  // of ranks continues every random stream.
  weights::NamedTensors rank_rng;
  if (run_.group)
    for (const auto& [name, state] : capture_rng_state()) {
      at::Tensor all = run_.group->all_gather(state.unsqueeze(0));
      for (int64_t r = 0; r < all.size(0); ++r) rank_rng.emplace_back(cat("rank", r, ".", name), all[r]);
    }
  if (!run_.main()) {
    run_.group->barrier();
    return;
  }
  counters_.world_size = run_.launch.world_size;
  counters_.batch_size = run_.train.loader.batch_size;
  counters_.recipe = run_.recipe->counters();
  for (const auto& [name, scaler] : scalers_)
    if (scaler.active()) counters_.loss_scales[name] = scaler.state();
  std::map<std::string, double> by_name(metrics.begin(), metrics.end());
  const std::string& best = run_.train.checkpoint.best_metric;
  if (!metrics.empty() && !best.empty() && !by_name.count(best)) {
    std::string names;
    for (const auto& [name, value] : metrics) names += cat(names.empty() ? "" : ", ", name);
    LOOM_WARN("train.checkpoint.best_metric '", best, "' is not among the evaluation metrics (", names, ")");
  }
  CheckpointContents contents = pack_checkpoint(setup_, counters_, config_yaml_);
  for (auto& entry : rank_rng) contents.tensors.push_back(std::move(entry));
  result_.last_checkpoint = store_->save(counters_.step, contents, by_name);
  LOOM_DEBUG("checkpoint ", result_.last_checkpoint.string());
  if (run_.group) run_.group->barrier();
}

void TrainingLoop::restore_rng(const LoadedCheckpoint& checkpoint) {
  if (!run_.group) return;
  const std::string prefix = cat("rank", run_.launch.rank, ".");
  weights::NamedTensors own;
  for (const auto& [name, state] : checkpoint.contents.tensors)
    if (name.starts_with(prefix)) own.emplace_back(name.substr(prefix.size()), state);
  if (counters_.world_size == run_.launch.world_size && !own.empty()) {
    restore_rng_state(own);
  } else if (!run_.main()) {  // a new world size: fresh streams from (seed, rank, step)
    torch::manual_seed(static_cast<uint64_t>(run_.train.seed) + 1000003ULL * static_cast<uint64_t>(run_.launch.rank) +
                       7919ULL * static_cast<uint64_t>(counters_.step));
  }
}

TrainResult TrainingLoop::run() {
  restore();
  stop_signal::install();
  for (auto& [name, module] : setup_.modules) module->train();
  Progress progress(total_steps_, run_.train.log_every);
  auto due = [this](int64_t every) { return every > 0 && counters_.step % every == 0; };
  auto stop_requested = [this] {
    bool stop = stop_signal::requested();
    return run_.group ? any_rank(*run_.group, stop) : stop;  // a signal to one rank stops them all together
  };
  while (counters_.step < total_steps_ && !stop_requested()) {
    int64_t before = counters_.images_seen;
    step();
    if (run_.main()) progress.update(counters_.step, counters_.images_seen - before, progress_figures());
    if (due(run_.train.log_every)) log_metrics();
    bool last = counters_.step == total_steps_;
    bool evaluate = !last && due(run_.train.eval_every), samples = !last && due(run_.train.sample_every);
    Scalars metrics = (evaluate || samples) ? evaluate_and_sample(evaluate, samples) : Scalars{};
    // Keep-best needs a checkpoint of the weights every evaluation measured.
    bool for_best = evaluate && !run_.train.checkpoint.best_metric.empty();
    if (!last && (due(run_.train.checkpoint_every) || for_best)) save_checkpoint(metrics);
  }
  progress.finish();
  result_.interrupted = counters_.step < total_steps_;
  if (result_.interrupted) {
    LOOM_WARN("stopped by signal ", stop_signal::signal_number(), " at step ", counters_.step, "; continue with resume=auto");
    save_checkpoint({});
  } else {
    log_metrics();
    result_.final_metrics = evaluate_and_sample(true, true);
    save_checkpoint(result_.final_metrics);
  }
  metrics_.flush();
  result_.run = dir_;
  result_.steps = counters_.step;
  result_.nan_skipped = counters_.nan_skipped;
  result_.bad_samples = loader_->bad_samples();
  return result_;
}

}  // namespace

TrainResult train(const ConfigNode& config, const std::string& config_path) {
  RunConfig run = read_run_config(config);
  TrainSetup setup = build_setup(run, config);
  TrainingLoop loop(std::move(run), std::move(setup), config, config_path);
  return loop.run();
}

void Recipe::load_weight_file(const TrainSetup& setup, const std::filesystem::path& path) {
  auto model = setup.modules.find("model");
  if (model == setup.modules.end()) throw UserError(cat(path.string(), ": a weight file loads into the recipe's 'model', and this recipe has none"));
  LOOM_INFO(weights::load_file(*model->second, path.string()).summary());
  if (auto ema = setup.ema.find("model"); ema != setup.ema.end()) weights::load_file(*ema->second.target, path.string());
}

Scalars evaluate(const ConfigNode& config, const std::filesystem::path& checkpoint) {
  RunConfig run = read_run_config(config);
  TrainSetup setup = build_setup(run, config);
  std::string extension = checkpoint.extension().string();
  if (extension == ".safetensors" || extension == ".pt" || extension == ".pth" || extension == ".bin") {
    run.recipe->load_weight_file(setup, checkpoint);
  } else {
    std::filesystem::path path = checkpoint;
    if (std::filesystem::exists(path / "checkpoints")) path /= "checkpoints";
    restore_modules(setup, CheckpointStore::load(path));
  }
  for (auto& [name, module] : setup.modules) module->eval();
  c10::NoGradGuard no_grad;
  return run.recipe->evaluate(EvalContext{run.device, 0, nullptr, {}});
}

}  // namespace loom

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

#include "core/atomic_file.h"
#include "core/checkpoint.h"
#include "core/config_error.h"
#include "core/jsonl_writer.h"
#include "core/log.h"
#include "core/registries.h"
#include "core/tensorboard_writer.h"
#include "data/dataset.h"
#include "train/optim/schedules.h"
#include "train/progress.h"
#include "train/stop_signal.h"
#include "train/train_options.h"
#include "train/training_state.h"

namespace loom {

namespace {

struct RunConfig {
  TrainOptions train;
  OutputOptions output;
  std::string resume = "none";  // none | auto | a checkpoint path
  std::shared_ptr<Recipe> recipe;
  c10::Device device{c10::kCPU};
};

c10::Device pick_device(const std::string& name) {
  bool cuda = at::detail::getCUDAHooks().hasCUDA();
  if (name == "auto") return cuda ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
  c10::Device device(c10::kCPU);
  try {
    device = c10::Device(name);
  } catch (const c10::Error&) {
    throw ConfigError(cat("train.device: '", name, "' is not a device (auto, cpu, cuda, cuda:N)"));
  }
  if (device.is_cuda() && !cuda) throw ConfigError(cat("train.device: '", name, "' requested but CUDA is not available"));
  return device;
}

// Reads the sections the trainer owns, builds the recipe and rejects unknown top-level keys.
RunConfig read_run_config(const ConfigNode& config) {
  register_all();
  RunConfig run;
  const ConfigNode* recipe = config.find("recipe");
  if (!recipe) throw ConfigError("the config has no 'recipe' section (e.g. recipe: {name: classify}); see `loom list`");
  run.recipe = recipe_registry().get(registered_name(recipe_registry(), *recipe, "recipe"))(config);
  const ConfigNode* train = config.find("train");
  run.train = read_config<TrainOptions>(train ? *train : ConfigNode{}, "train");
  const ConfigNode* output = config.find("output");
  run.output = read_config<OutputOptions>(output ? *output : ConfigNode{}, "output");
  if (const ConfigNode* resume = config.find("resume")) config_detail::ConfigReader::convert(*resume, "resume", run.resume, {});

  std::vector<std::string> known{"recipe", "train", "output", "resume"};
  for (const auto& s : run.recipe->sections()) known.push_back(s);
  for (const auto& [key, node] : config.entries()) {
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    std::string suggestion = closest_match(key, known);
    config_detail::fail(node, key, cat("unknown top-level section", suggestion.empty() ? "" : cat("; did you mean '", suggestion, "'?")));
  }
  if ((run.train.steps > 0) == (run.train.epochs > 0)) throw ConfigError("train: give exactly one of steps and epochs");
  run.device = pick_device(run.train.device);
  if (run.train.threads > 0) at::set_num_threads(static_cast<int>(run.train.threads));
  return run;
}

TrainSetup build_setup(RunConfig& run, const ConfigNode& config) {
  torch::manual_seed(static_cast<uint64_t>(run.train.seed));
  TrainSetup setup = run.recipe->setup(RecipeContext{config, run.device, static_cast<uint64_t>(run.train.seed)});
  for (auto& [name, pair] : setup.ema) pair.target->eval();
  return setup;
}

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
  std::string progress_figures() const;

  RunConfig run_;
  TrainSetup setup_;
  std::string config_yaml_;
  RunDirectory dir_;
  MultiWriter metrics_;
  std::unique_ptr<data::Loader> loader_;
  std::unique_ptr<CheckpointStore> store_;
  std::map<std::string, LossScaler> scalers_;
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
  dir_ = resolve_run_directory(run_.output, config_path, run_.resume == "auto");
  log::set_file(dir_.log().string());
  write_file_atomically(dir_.config(), config_yaml_);
  metrics_.add(std::make_unique<JsonlWriter>(dir_.metrics()));
  metrics_.add(std::make_unique<TensorBoardWriter>(dir_.tensorboard()));
  store_ = std::make_unique<CheckpointStore>(dir_.checkpoints(), run_.train.checkpoint);

  loader_ = std::make_unique<data::Loader>(setup_.train_data, run_.train.loader, static_cast<uint64_t>(run_.train.seed));
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
    checkpoint = store_->load_latest();
    if (!checkpoint) LOOM_INFO("resume=auto: no checkpoint in ", dir_.checkpoints().string(), ", starting fresh");
  } else if (run_.resume != "none") {
    checkpoint = CheckpointStore::load(run_.resume);
  }
  if (!checkpoint) return;
  restore_modules(setup_, *checkpoint);
  restore_optimizers_and_rng(setup_, *checkpoint);
  counters_ = TrainCounters::from_json(checkpoint->contents.state_json, checkpoint->path.string());
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
    if (!std::isfinite(value)) {
      std::string what = cat("phase '", phase.name, "' at step ", counters_.step, ": loss is ", value);
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
    scaler.scale(out.loss / static_cast<double>(micro)).backward();
  }
  auto& loss_slot = window_[cat("train/", phase.name, "/loss")];
  loss_slot.first += loss_sum / static_cast<double>(micro);
  loss_slot.second += 1;
  std::erase_if(last_loss_, [&](const auto& e) { return e.first == phase.name; });
  last_loss_.emplace_back(phase.name, loss_sum / static_cast<double>(micro));

  bool finite = scaler.unscale(phase.parameters);
  if (run_.train.clip_grad.mode != "none") {
    auto& norm_slot = window_[cat("train/", phase.name, "/grad_norm")];
    norm_slot.first += clip_gradients(phase.parameters, run_.train.clip_grad);
    norm_slot.second += 1;
  }
  OptimizerSlot& slot = setup_.optimizers.at(phase.optimizer);
  double factor = slot.schedule ? slot.schedule->factor(counters_.step) : 1.0;
  auto& groups = slot.optimizer->param_groups();
  for (size_t g = 0; g < groups.size(); ++g) groups[g].options().set_lr(base_lrs_.at(phase.optimizer)[g] * factor);
  if (finite) slot.optimizer->step();
  scaler.update();
  for (const auto& p : phase.parameters) p.mutable_grad().reset();
}

void TrainingLoop::step() {
  int64_t images = 0;
  std::vector<data::Batch> batches = next_batches(images);
  for (const auto& phase : setup_.phases)
    if (counters_.step % phase.interval == 0) run_phase(phase, batches);
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
  Scalars scalars;
  for (const auto& [name, slot] : window_) scalars.emplace_back(name, slot.first / static_cast<double>(slot.second));
  window_.clear();
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
  for (auto& [name, module] : setup_.modules) module->eval();
  Scalars metrics;
  {
    c10::NoGradGuard no_grad;
    EvalContext context{run_.device, counters_.step, &metrics_, dir_.samples()};
    if (evaluate) {
      metrics = run_.recipe->evaluate(context);
      metrics_.add_scalars(counters_.step, metrics);
      std::string line;
      for (const auto& [name, value] : metrics) line += cat(line.empty() ? "" : "  ", name, " ", value);
      LOOM_INFO("eval at step ", counters_.step, ": ", line.empty() ? "(no metrics)" : line);
    }
    if (samples) run_.recipe->write_samples(context);
  }
  for (auto& [name, module] : setup_.modules) module->train();
  metrics_.flush();
  return metrics;
}

void TrainingLoop::save_checkpoint(const Scalars& metrics) {
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
  result_.last_checkpoint = store_->save(counters_.step, pack_checkpoint(setup_, counters_, config_yaml_), by_name);
  LOOM_DEBUG("checkpoint ", result_.last_checkpoint.string());
}

TrainResult TrainingLoop::run() {
  restore();
  stop_signal::install();
  for (auto& [name, module] : setup_.modules) module->train();
  Progress progress(total_steps_, run_.train.log_every);
  auto due = [this](int64_t every) { return every > 0 && counters_.step % every == 0; };
  while (counters_.step < total_steps_ && !stop_signal::requested()) {
    int64_t before = counters_.images_seen;
    step();
    progress.update(counters_.step, counters_.images_seen - before, progress_figures());
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

Scalars evaluate(const ConfigNode& config, const std::filesystem::path& checkpoint) {
  RunConfig run = read_run_config(config);
  TrainSetup setup = build_setup(run, config);
  std::string extension = checkpoint.extension().string();
  if (extension == ".safetensors" || extension == ".pt" || extension == ".pth" || extension == ".bin") {
    auto model = setup.modules.find("model");
    if (model == setup.modules.end()) throw UserError(cat(checkpoint.string(), ": a weight file loads into the recipe's 'model', and this recipe has none"));
    LOOM_INFO(weights::load_file(*model->second, checkpoint.string()).summary());
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

#include "train/trainer.h"

#include <cmath>
#include <cstdio>
#include <optional>
#include <set>

#include <ATen/Parallel.h>
#include <ATen/core/Generator.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <ATen/ops/stack.h>
#include <c10/core/GradMode.h>
#include <c10/util/Exception.h>
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>
#include <torch/utils.h>
#include <nlohmann/json.hpp>

#include "core/config/config_error.h"
#include "core/io/atomic_file.h"
#include "core/io/checkpoint.h"
#include "core/log.h"
#include "core/metrics/jsonl_writer.h"
#include "core/metrics/tensorboard_writer.h"
#include "core/registry/registries.h"
#include "core/text/did_you_mean.h"
#include "core/text/join.h"
#include "data/dataset.h"
#include "data/device_prefetcher.h"
#include "train/distributed/agreement.h"
#include "train/frozen_modules.h"
#include "train/periodic_tasks.h"
#include "train/phase_runner.h"
#include "train/progress.h"
#include "train/rng_state.h"
#include "train/run_config.h"
#include "train/step_logs.h"
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
  void stage_phases(const ConfigNode& config);
  void freeze_untrained_parameters();
  void restore();
  void apply_checkpoint(const LoadedCheckpoint& checkpoint);
  void step();
  bool agree_after_step(std::vector<PhaseRun>& runs);
  std::vector<data::Batch> next_batches(int64_t& images);
  void log_metrics();
  PeriodicTasks::Outcome run_tasks(bool last);
  void save_checkpoint(const Scalars& metrics);
  void restore_rng(const LoadedCheckpoint& checkpoint);
  std::string progress_figures() const;
  void write_summary() const;

  RunConfig run_;
  TrainSetup setup_;
  std::string config_yaml_;
  RunDirectory dir_;
  MultiWriter metrics_;
  std::unique_ptr<data::Loader> loader_;
  std::unique_ptr<data::DevicePrefetcher> batches_;  // the loader's batches on the device (copied ahead on CUDA)
  std::unique_ptr<CheckpointStore> store_;
  std::unique_ptr<PhaseRunner> runner_;
  std::unique_ptr<PeriodicTasks> tasks_;
  std::map<std::string, FrozenRecord> frozen_records_;  // computed once: frozen weights never change
  TrainCounters counters_;
  int64_t total_steps_ = 0;
  bool stop_ = false;    // a stop signal reached some rank (agreed after each step)
  StepLogs logs_;        // the current logging window, on the device
  Scalars last_losses_;  // the phases' mean losses of the last window, for the progress line
  TrainResult result_;
};

TrainingLoop::TrainingLoop(RunConfig run, TrainSetup setup, const ConfigNode& config, const std::string& config_path)
    : run_(std::move(run)), setup_(std::move(setup)), config_yaml_(to_yaml(config)) {
  if (!setup_.train_data) throw std::logic_error("recipe returned no training data");
  for (const auto& phase : setup_.phases)
    if (!setup_.optimizers.count(phase.optimizer))
      throw std::logic_error(cat("phase '", phase.name, "' names unknown optimizer '", phase.optimizer, "'"));
  stage_phases(config);
  enforce_frozen(setup_);
  frozen_records_ = frozen_records(setup_);
  freeze_untrained_parameters();
  // Rank 0 names the run folder (its default id is a time stamp) and alone writes into it.
  std::string dir =
      run_.main() ? resolve_run_directory(run_.output, config_path, run_.resume == "auto").dir.string() : "";
  dir_ = RunDirectory{run_.group ? broadcast_string(*run_.group, dir) : dir};
  if (run_.main()) {
    create_run_directory(dir_, run_.output);
    log::set_file(dir_.log().string());
    write_file_atomically(dir_.config(), config_yaml_);
    metrics_.add(std::make_unique<JsonlWriter>(dir_.metrics()));
    metrics_.add(std::make_unique<TensorBoardWriter>(dir_.tensorboard()));
    store_ = std::make_unique<CheckpointStore>(dir_.checkpoints(), run_.train.checkpoint);
  }

  loader_ = std::make_unique<data::Loader>(setup_.train_data, run_.train.loader, static_cast<uint64_t>(run_.train.seed),
                                           run_.launch.rank, run_.launch.world_size);
  runner_ = std::make_unique<PhaseRunner>(setup_, run_.train, run_.device, run_.group);
  tasks_ = std::make_unique<PeriodicTasks>(*run_.recipe, setup_, run_.train.eval_every, run_.train.sample_every,
                                           run_.main());
  batches_ = std::make_unique<data::DevicePrefetcher>(*loader_, run_.device);
  int64_t per_epoch = (loader_->batches_per_epoch() + run_.train.accumulate - 1) / run_.train.accumulate;
  total_steps_ = run_.train.steps > 0 ? run_.train.steps : run_.train.epochs * per_epoch;

  LOOM_INFO("run folder ", dir_.dir.string(), " | data: ", setup_.train_data->describe(), " | ", total_steps_,
            " steps of ", run_.train.accumulate, " x ", run_.train.loader.batch_size, " samples on ",
            run_.device.str());
}

// train.phases.<name>: {start, stop} from the config, for any recipe's phases.
void TrainingLoop::stage_phases(const ConfigNode& config) {
  const ConfigNode* windows = config.find("train") ? config.find("train")->find("phases") : nullptr;
  std::vector<std::string> names;
  for (const auto& phase : setup_.phases) names.push_back(phase.name);
  for (const auto& [name, window] : run_.train.phases) {
    const ConfigNode& node = *windows->find(name);
    auto phase =
        std::find_if(setup_.phases.begin(), setup_.phases.end(), [&](const Phase& p) { return p.name == name; });
    if (phase == setup_.phases.end())
      fail_config(node, cat("train.phases.", name),
                  cat("this recipe has no such phase", did_you_mean(name, names), "; its phases: ", join(names, ", ")));
    phase->start = window.start;
    phase->stop = window.stop;
    if (window.stop >= 0 && window.start > window.stop)
      fail_config(node, cat("train.phases.", name), cat("start ", window.start, " is after stop ", window.stop));
  }
  for (const auto& phase : setup_.phases)
    if (phase.interval < 1 || (phase.stop >= 0 && phase.start > phase.stop))
      throw ConfigError(cat("phase '", phase.name, "': interval ", phase.interval, ", start ", phase.start, ", stop ",
                            phase.stop, " never runs (the recipe's phase window is inconsistent)"));
}

// Parameters of the recipe's modules that no phase trains (early layers, Freeze-D) never get gradients,
// so backward skips them. Frozen modules (TrainSetup::frozen) are frozen by enforce_frozen.
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
  auto apply = [this](const LoadedCheckpoint& c) {
    try {
      apply_checkpoint(c);
    } catch (const c10::Error& e) {  // LibTorch's, on a state it cannot take (an RNG state of another size)
      throw UserError(cat("checkpoint ", c.path.string(), ": cannot be restored: ", e.what_without_backtrace()));
    }
  };
  std::optional<LoadedCheckpoint> checkpoint;
  if (run_.resume == "auto") {
    // Rank 0 picks the newest checkpoint that restores; the others load the same one.
    if (run_.main()) checkpoint = store_->restore_latest(apply);
    std::string path = checkpoint ? checkpoint->path.string() : "";
    if (run_.group) path = broadcast_string(*run_.group, path);
    if (!run_.main() && !path.empty()) apply(*(checkpoint = CheckpointStore::load(path)));
    if (!checkpoint) LOOM_INFO("resume=auto: no checkpoint in ", dir_.checkpoints().string(), ", starting fresh");
  } else if (run_.resume != "none") {
    apply(*(checkpoint = CheckpointStore::load(run_.resume)));
  }
  if (checkpoint)
    LOOM_INFO("resumed from ", checkpoint->path.string(), " at step ", counters_.step, " (", counters_.images_seen,
              " images seen)");
}

// Throws CheckpointMismatch when the run's config does not fit the checkpoint, UserError when a part of
// it cannot be read (restore_latest then falls back to the previous checkpoint).
void TrainingLoop::apply_checkpoint(const LoadedCheckpoint& checkpoint) {
  const TrainCounters saved = TrainCounters::from_json(checkpoint.contents.state_json, checkpoint.path.string());
  restore_modules(setup_, checkpoint);
  restore_optimizers_and_rng(setup_, checkpoint, saved);
  counters_ = saved;
  restore_rng(checkpoint);
  const int64_t batch = run_.train.loader.batch_size, world = run_.launch.world_size;
  if (counters_.batch_size > 0 && counters_.batch_size * counters_.world_size != batch * world) {
    LOOM_WARN("resuming with ", world, " ranks x ", batch, " samples per batch (checkpoint: ", counters_.world_size,
              " x ", counters_.batch_size, "): the data position is recomputed from the samples consumed");
    try {
      counters_.loader =
          rescale_loader_position(counters_.loader, counters_.batch_size * counters_.world_size, batch * world);
    } catch (const UserError& e) {
      throw CheckpointMismatch(e.what());
    }
  }
  for (auto& [name, scaler] : runner_->scalers())
    if (counters_.loss_scales.count(name)) scaler.set_state(counters_.loss_scales[name]);
  try {
    check_frozen_records(frozen_records_, counters_.frozen, checkpoint.path.string());
  } catch (const UserError& e) {
    throw CheckpointMismatch(e.what());
  }
  run_.recipe->set_counters(counters_.recipe);
  batches_->seek(counters_.loader);
}

std::vector<data::Batch> TrainingLoop::next_batches(int64_t& images) {
  std::vector<data::Batch> batches;
  images = 0;
  for (int64_t i = 0; i < run_.train.accumulate; ++i) {
    std::optional<data::Batch> batch = batches_->next();
    if (!batch) throw std::logic_error("a repeating loader ran dry");
    images += batch->size();
    batches.push_back(std::move(*batch));
  }
  return batches;
}

void TrainingLoop::step() {
  int64_t images = 0;
  std::vector<data::Batch> batches = next_batches(images);
  images *= run_.launch.world_size;  // every rank consumes an equal share of the global batch
  StepInfo info{counters_.step, counters_.images_seen, 0, run_.train.accumulate};
  run_.recipe->before_step(info);
  std::vector<PhaseRun> runs;
  for (const auto& phase : setup_.phases)
    if (phase.due(counters_.step)) runs.push_back(runner_->run(phase, batches, info, logs_));
  if (run_.group && run_.train.distributed.buffers == "broadcast") {
    std::vector<at::Tensor> buffers;
    for (const auto& [name, module] : setup_.modules)
      for (const auto& b : module->buffers()) buffers.push_back(b);
    if (!buffers.empty()) run_.group->broadcast(buffers, 0);
  }
  for (auto& [name, pair] : setup_.ema)
    ema_update(*pair.target, *pair.source, ema_beta(run_.train.ema, counters_.step, images, counters_.images_seen));
  info.images_seen = counters_.images_seen + images;
  run_.recipe->after_step(info);
  stop_ = agree_after_step(runs);
  counters_.images_seen += images;
  counters_.step += 1;
  counters_.loader = batches_->position();  // not the loader's: on CUDA it is a batch ahead
}

// The step's one host read and one agreement: the phases' non-finite flags come to the host together,
// and travel with this rank's stop signal in a single all-reduce (a signal to one rank stops them all
// at the same step). Returns whether to stop.
bool TrainingLoop::agree_after_step(std::vector<PhaseRun>& runs) {
  std::vector<at::Tensor> device_flags;
  for (const auto& run : runs) {
    device_flags.push_back(run.found_inf.reshape({}));
    device_flags.push_back(run.loss_not_finite.reshape({}));
  }
  std::vector<double> flags{stop_signal::requested() ? 1.0 : 0.0};
  if (!device_flags.empty()) {
    at::Tensor host = at::stack(device_flags).to(at::kDouble).to(c10::kCPU);
    flags.insert(flags.end(), host.data_ptr<double>(), host.data_ptr<double>() + host.numel());
  }
  if (run_.group) sum_over_ranks(*run_.group, flags);
  std::vector<std::pair<double, double>> per_run;
  for (size_t i = 0; i < runs.size(); ++i) per_run.emplace_back(flags[1 + 2 * i], flags[2 + 2 * i]);
  Divergence diverged = check_phase_runs(runs, per_run, counters_.step, runner_->scalers());
  if (diverged.phases > 0) {
    if (run_.train.nan_policy == "stop")
      throw TrainingDiverged(cat(diverged.first, "; stopping (set train.nan_policy=skip to skip such steps)"));
    counters_.nan_skipped += diverged.phases;
    LOOM_WARN(diverged.first, "; step skipped (", counters_.nan_skipped, " so far)");
  }
  return flags[0] > 0;
}

std::string TrainingLoop::progress_figures() const {
  auto figure = [](double value) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.4g", value);
    return std::string(buffer);
  };
  std::string out =
      join(last_losses_, "  ", [&](const auto& entry) { return cat(entry.first, " ", figure(entry.second)); });
  for (const auto& [name, slot] : setup_.optimizers) {
    const auto& groups = slot.optimizer->param_groups();
    if (!groups.empty()) out += cat("  lr/", name, " ", figure(groups[0].options().get_lr()));
  }
  return out;
}

void TrainingLoop::log_metrics() {
  // Every rank logs the same names, so one all-reduce serves the whole window.
  Scalars scalars = logs_.reduce(run_.group.get());
  last_losses_.clear();
  for (const auto& [name, value] : scalars)  // "train/G/loss" -> "loss/G" on the progress line
    if (name.ends_with("/loss")) last_losses_.emplace_back(cat("loss/", name.substr(6, name.size() - 11)), value);
  if (!run_.main()) return;
  for (const auto& [name, slot] : setup_.optimizers)
    if (!slot.optimizer->param_groups().empty())
      scalars.emplace_back(cat("lr/", name), slot.optimizer->param_groups()[0].options().get_lr());
  scalars.emplace_back("progress/images_seen", static_cast<double>(counters_.images_seen));
  scalars.emplace_back("progress/bad_samples", static_cast<double>(loader_->bad_samples()));
  if (counters_.nan_skipped) scalars.emplace_back("progress/nan_skipped", static_cast<double>(counters_.nan_skipped));
  for (const auto& [name, scaler] : runner_->scalers())
    if (scaler.active()) scalars.emplace_back(cat("amp/loss_scale/", name), scaler.current());
  metrics_.add_scalars(counters_.step, scalars);
}

PeriodicTasks::Outcome TrainingLoop::run_tasks(bool last) {
  // Every rank runs the tasks (no rank idles into a collective timeout); rank 0 writes.
  EvalContext context{run_.device, counters_.step, run_.main() ? &metrics_ : nullptr, dir_.samples()};
  return tasks_->run(counters_.step, last, context, setup_, run_.main() ? &metrics_ : nullptr);
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
  counters_.frozen = frozen_records_;
  for (const auto& [name, scaler] : runner_->scalers())
    if (scaler.active()) counters_.loss_scales[name] = scaler.state();
  std::map<std::string, double> by_name(metrics.begin(), metrics.end());
  const std::string& best = run_.train.checkpoint.best_metric;
  if (!metrics.empty() && !best.empty() && !by_name.count(best)) {
    LOOM_WARN("train.checkpoint.best_metric '", best, "' is not among the evaluation metrics (",
              join(metrics, ", ", [](const auto& entry) { return entry.first; }), ")");
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
  while (counters_.step < total_steps_ && !stop_) {
    int64_t before = counters_.images_seen;
    step();
    if (due(run_.train.log_every)) log_metrics();
    if (run_.main()) progress.update(counters_.step, counters_.images_seen - before, progress_figures());
    if (counters_.step == total_steps_ || stop_) break;
    PeriodicTasks::Outcome done = run_tasks(/*last=*/false);
    // Keep-best needs a checkpoint of the weights every evaluation measured.
    bool for_best = done.evaluated && !run_.train.checkpoint.best_metric.empty();
    if (due(run_.train.checkpoint_every) || for_best) save_checkpoint(done.metrics);
  }
  progress.finish();
  result_.interrupted = counters_.step < total_steps_;
  if (result_.interrupted) {
    LOOM_WARN("stopped by signal ", stop_signal::signal_number(), " at step ", counters_.step,
              "; continue with resume=auto");
    save_checkpoint({});
  } else {
    log_metrics();
    result_.final_metrics = run_tasks(/*last=*/true).metrics;
    save_checkpoint(result_.final_metrics);
  }
  metrics_.flush();
  result_.run = dir_;
  result_.steps = counters_.step;
  result_.nan_skipped = counters_.nan_skipped;
  result_.bad_samples = loader_->bad_samples();
  if (run_.main()) write_summary();
  return result_;
}

void TrainingLoop::write_summary() const {
  nlohmann::ordered_json summary;
  summary["status"] = result_.interrupted ? "interrupted" : "finished";
  summary["steps"] = result_.steps;
  summary["total_steps"] = total_steps_;
  summary["final_metrics"] = nlohmann::ordered_json::object();
  for (const auto& [name, value] : result_.final_metrics) summary["final_metrics"][name] = value;
  summary["bad_samples"] = result_.bad_samples;
  summary["nan_skipped"] = result_.nan_skipped;
  write_file_atomically(dir_.summary(), summary.dump(1) + "\n");
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
    run.recipe->load_weight_file(setup, checkpoint);
  } else {
    std::filesystem::path path = checkpoint;
    if (std::filesystem::exists(path / "checkpoints")) path /= "checkpoints";
    restore_modules(setup, CheckpointStore::load(path));
  }
  enforce_frozen(setup);
  for (auto& [name, module] : setup.modules) module->eval();
  c10::NoGradGuard no_grad;
  return run.recipe->evaluate(EvalContext{run.device, 0, nullptr, {}});
}

}  // namespace loom

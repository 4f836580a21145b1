#include "train/phase_runner.h"

#include <cmath>

#include <ATen/ops/full.h>
#include <ATen/ops/isfinite.h>
#include <ATen/ops/logical_not.h>
#include <ATen/ops/where.h>
#include <ATen/ops/zeros.h>
#include <c10/core/GradMode.h>
#include <torch/optim/optimizer.h>

#include "core/text/cat.h"
#include "train/distributed/gradient_reducer.h"
#include "train/gradient_clipping.h"
#include "train/optim/schedules.h"

namespace loom {

PhaseRunner::PhaseRunner(TrainSetup& setup, const TrainOptions& options, c10::Device device,
                         std::shared_ptr<ProcessGroup> group)
    : setup_(setup), options_(options), device_(device) {
  if (group) {
    // One reducer per optimizer: phases that share one (a main and a lazy-regularisation phase) train
    // the same parameters, and a parameter takes one reducer's hook.
    std::map<std::string, std::vector<at::Tensor>> parameters;
    for (const auto& phase : setup_.phases) {
      auto& list = parameters[phase.optimizer];
      for (const auto& p : phase.parameters)
        if (std::none_of(list.begin(), list.end(), [&](const at::Tensor& q) { return q.is_same(p); }))
          list.push_back(p);
    }
    for (auto& [name, list] : parameters)
      reducers_[name] =
          std::make_unique<GradientReducer>(group, list, static_cast<int64_t>(options_.bucket_mb * (1 << 20)));
  }
  for (auto& [name, slot] : setup_.optimizers) {
    scalers_.emplace(name, LossScaler(options_.amp, device_));
    for (auto& group_options : slot.optimizer->param_groups())
      base_lrs_[name].push_back(group_options.options().get_lr());
  }
}

PhaseRunner::~PhaseRunner() = default;

PhaseRun PhaseRunner::run(const Phase& phase, const std::vector<data::Batch>& batches, const StepInfo& step,
                          StepLogs& logs) {
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
  const std::string prefix = cat("train/", phase.name, "/");
  PhaseRun run;
  run.phase = &phase;
  run.loss_not_finite = at::zeros({}, at::TensorOptions(device_).dtype(at::kFloat));
  for (int64_t m = 0; m < micro; ++m) {
    StepInfo info = step;
    info.micro_batch = m;
    info.micro_batches = micro;
    LossOutput out;
    {
      AutocastScope autocast(device_.type(), options_.amp);
      out = phase.loss(batches[static_cast<size_t>(m)], info);
    }
    at::Tensor loss = out.total();
    at::Tensor finite = at::isfinite(loss.detach());
    run.loss_not_finite = run.loss_not_finite + at::logical_not(finite).to(at::kFloat);
    run.losses.push_back(loss.detach());
    logs.add(prefix + "loss", loss);
    if (out.losses.size() > 1)
      for (const auto& [name, part] : out.losses) logs.add(prefix + name, part);
    for (const auto& [name, figure] : out.figures) logs.add(prefix + name, figure);
    // A non-finite loss poisons every gradient it reaches, so the all-reduced gradients carry it to all
    // ranks and the found-inf check below skips the step everywhere alike, without a collective.
    at::Tensor poison = at::where(finite, at::full({}, 1.0, loss.options()), at::full({}, NAN, loss.options()));
    if (reducer) reducer->prepare(/*sync=*/m == micro - 1);  // accumulate locally until the last micro-batch
    scaler.scale(loss * poison / static_cast<double>(micro)).backward();
  }
  if (reducer) reducer->finish();

  run.found_inf = scaler.unscale(phase.parameters).found_inf;
  if (options_.clip_grad.mode != "none") {
    GradientNorm norm = clip_gradients(phase.parameters, options_.clip_grad);
    if (norm.value.defined()) logs.add(prefix + "grad_norm", norm.value);
  }
  OptimizerSlot& slot = setup_.optimizers.at(phase.optimizer);
  double factor = slot.schedule ? slot.schedule->factor(step.step) : 1.0;
  auto& groups = slot.optimizer->param_groups();
  for (size_t g = 0; g < groups.size(); ++g) groups[g].options().set_lr(base_lrs_.at(phase.optimizer)[g] * factor);
  if (auto* skipper = dynamic_cast<DeviceSkippingOptimizer*>(slot.optimizer.get())) {
    run.device_skip = skipper->step_unless(run.found_inf);
    run.skipper = skipper;
  } else if (static_cast<bool>(UnscaleResult{run.found_inf})) {
    // Optimizers without a device-side skip decide on the host: one read per phase step.
    slot.optimizer->step();
  }
  scaler.update();
  for (const auto& p : phase.parameters) p.mutable_grad().reset();
  return run;
}

Divergence check_phase_runs(std::vector<PhaseRun>& runs, const std::vector<std::pair<double, double>>& flags,
                            int64_t step, const std::map<std::string, LossScaler>& scalers) {
  Divergence out;
  for (size_t i = 0; i < runs.size(); ++i) {
    PhaseRun& run = runs[i];
    const auto [found_inf, loss_not_finite] = flags[i];
    if (found_inf != 0 && run.skipper) run.skipper->undo_skipped_step(run.device_skip);
    const bool overflow_only = scalers.at(run.phase->optimizer).active() && loss_not_finite == 0;
    if ((found_inf == 0 && loss_not_finite == 0) || overflow_only) continue;
    if (out.phases++ > 0) continue;
    std::string what = "gradients are not finite";
    if (loss_not_finite != 0) {
      what = "loss is not finite on another rank";
      for (const auto& loss : run.losses)  // the failure path: reading the values costs nothing that matters
        if (double value = loss.item<double>(); !std::isfinite(value)) {
          what = cat("loss is ", value);
          break;
        }
    }
    out.first = cat("phase '", run.phase->name, "' at step ", step, ": ", what);
  }
  return out;
}

}  // namespace loom

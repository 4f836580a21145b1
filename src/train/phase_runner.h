#pragma once
// One phase of one training step: its micro-batches forward and backward, then the optimizer step,
// with no host sync (docs/ARCHITECTURE.md "Syncs"). What the host must eventually know (was the loss
// or were the gradients finite?) stays on the device in the PhaseRun it returns, and the trainer reads
// the flags of all of a step's phases at once, after the step (check_phase_runs).
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "train/mixed_precision.h"
#include "train/optim/fused_adam.h"
#include "train/recipe.h"
#include "train/step_logs.h"
#include "train/train_options.h"

namespace loom {

class GradientReducer;

struct PhaseRun {
  const Phase* phase = nullptr;
  at::Tensor found_inf;        // float32 [1]: some gradient was inf/NaN (after the all-reduce: the same on every rank)
  at::Tensor loss_not_finite;  // float32 []: some micro-batch loss was not finite on this rank
  std::vector<at::Tensor> losses;              // detached micro-batch losses, read only to describe a failure
  SkippableStep device_skip;                   // the optimizer skipped on the device; its step counts need undoing
  DeviceSkippingOptimizer* skipper = nullptr;  // null: the step was decided on the host
};

class PhaseRunner {
 public:
  PhaseRunner(TrainSetup& setup, const TrainOptions& options, c10::Device device, std::shared_ptr<ProcessGroup> group);
  ~PhaseRunner();

  PhaseRun run(const Phase& phase, const std::vector<data::Batch>& batches, const StepInfo& step, StepLogs& logs);
  std::map<std::string, LossScaler>& scalers() { return scalers_; }

 private:
  TrainSetup& setup_;
  const TrainOptions& options_;
  c10::Device device_;
  std::map<std::string, LossScaler> scalers_;                         // per optimizer
  std::map<std::string, std::unique_ptr<GradientReducer>> reducers_;  // per optimizer, data-parallel runs only
  std::map<std::string, std::vector<double>> base_lrs_;               // per optimizer group, before schedules
};

// The phase runs of a step whose loss or gradients were not finite.
struct Divergence {
  int64_t phases = 0;
  std::string first;  // "phase 'G' at step 3: loss is nan"
};

// What the trainer does with a step's phase runs once it has their flags on the host (`flags`: per run,
// {found_inf, loss_not_finite summed over ranks}): undoes the step counts of device-skipped updates and
// finds the runs that diverged. With fp16 loss scaling, non-finite gradients after a finite loss are an
// overflow (the scaler's business), not a divergence.
Divergence check_phase_runs(std::vector<PhaseRun>& runs, const std::vector<std::pair<double, double>>& flags,
                            int64_t step, const std::map<std::string, LossScaler>& scalers);

}  // namespace loom

#pragma once
// Adam and AdamW whose step runs ATen's fused multi-tensor kernels (_fused_adam_ / _fused_adamw_,
// CPU and CUDA) instead of LibTorch's per-parameter loop of a dozen elementwise ops: the update reads
// and writes each tensor once. State, options and serialisation are those of torch::optim::Adam(W),
// so checkpoints are interchangeable with the unfused optimizers.
#include <vector>

#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>

namespace loom {

// Optimizers that can skip a step on the device: the update runs unless `found_inf` (a float32 [1]
// flag on the parameters' device, LossScaler's) is nonzero, decided inside the fused kernel, so that
// guarding against non-finite gradients costs no host sync. The host step counters advance either
// way; once the caller has read the flag (once per training step), undo_skipped_step() takes them back.
struct SkippableStep {
  std::vector<void*> counted;  // state keys of the parameters whose step count advanced
};

class DeviceSkippingOptimizer {
 public:
  virtual ~DeviceSkippingOptimizer() = default;
  virtual SkippableStep step_unless(const at::Tensor& found_inf) = 0;
  virtual void undo_skipped_step(const SkippableStep& step) = 0;
};

class FusedAdam : public torch::optim::Adam, public DeviceSkippingOptimizer {
 public:
  using torch::optim::Adam::Adam;
  at::Tensor step(LossClosure closure = nullptr) override;
  SkippableStep step_unless(const at::Tensor& found_inf) override;
  void undo_skipped_step(const SkippableStep& step) override;
};

class FusedAdamW : public torch::optim::AdamW, public DeviceSkippingOptimizer {
 public:
  using torch::optim::AdamW::AdamW;
  at::Tensor step(LossClosure closure = nullptr) override;
  SkippableStep step_unless(const at::Tensor& found_inf) override;
  void undo_skipped_step(const SkippableStep& step) override;
};

}  // namespace loom

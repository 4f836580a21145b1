#pragma once
// Adam and AdamW whose step runs ATen's fused multi-tensor kernels (_fused_adam_ / _fused_adamw_,
// CPU and CUDA) instead of LibTorch's per-parameter loop of a dozen elementwise ops: the update reads
// and writes each tensor once. State, options and serialisation are those of torch::optim::Adam(W),
// so checkpoints are interchangeable with the unfused optimizers.
#include <vector>

#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>

namespace loom {

class FusedAdam : public torch::optim::Adam {
 public:
  using torch::optim::Adam::Adam;
  at::Tensor step(LossClosure closure = nullptr) override;
};

class FusedAdamW : public torch::optim::AdamW {
 public:
  using torch::optim::AdamW::AdamW;
  at::Tensor step(LossClosure closure = nullptr) override;
};

}  // namespace loom

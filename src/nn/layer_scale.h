#pragma once
// Layer scale (CaiT; timm's and open_clip's `LayerScale`): a learned per-channel factor on a residual
// branch, `gamma`, initialised to a small constant so that deep towers start close to the identity.
#include <cstdint>

#include <ATen/core/Tensor.h>
#include <ATen/ops/full.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

namespace loom::nn {

class LayerScaleImpl : public torch::nn::Module {
 public:
  LayerScaleImpl(int64_t width, double init_value)
      : gamma(register_parameter("gamma", at::full({width}, init_value))) {}
  at::Tensor forward(const at::Tensor& x) { return x * gamma; }

  at::Tensor gamma;  // [width]
};
TORCH_MODULE(LayerScale);

}  // namespace loom::nn

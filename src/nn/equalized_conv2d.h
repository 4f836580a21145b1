#pragma once
// Convolution with equalized learning rate and optional FIR up/downsampling (NVlabs Conv2dLayer): the
// weight is N(0,1), scaled by 1/√(in·k²) at run time. `trainable = false` stores weight and bias as
// buffers instead of parameters (Freeze-D keeps the state-dict names and freezes the layer).
#include <cstdint>
#include <optional>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "nn/bias_act.h"

namespace loom::nn {

struct EqualizedConv2dOptions {
  bool bias = true;
  BiasActivation activation = BiasActivation::linear;
  int64_t up = 1;
  int64_t down = 1;
  std::optional<double> conv_clamp;
  bool trainable = true;
};

class EqualizedConv2dImpl : public torch::nn::Module {
 public:
  EqualizedConv2dImpl(int64_t in_channels, int64_t out_channels, int64_t kernel_size,
                      EqualizedConv2dOptions options = {});
  // `gain` scales the activation gain and the clamp (the residual branches use √0.5).
  at::Tensor forward(const at::Tensor& x, double gain = 1.0);
  // Multiply-accumulates for an input of h x w.
  int64_t multiply_accumulates(int64_t h, int64_t w) const;

  at::Tensor weight;           // [out, in, k, k]
  at::Tensor bias;             // [out] or undefined
  at::Tensor resample_filter;  // [4, 4] buffer

 private:
  EqualizedConv2dOptions options_;
  double weight_gain_;
};
TORCH_MODULE(EqualizedConv2d);

}  // namespace loom::nn

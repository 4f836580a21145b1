#pragma once
// Fully connected layer with equalized learning rate (NVlabs FullyConnectedLayer): the weight is stored
// as N(0,1)/lr_multiplier and scaled by lr_multiplier/√in at run time, the bias by lr_multiplier, so
// Adam's per-parameter steps act equally on every layer (and 100x slower in the mapping network).
#include <cstdint>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "nn/bias_act.h"

namespace loom::nn {

struct EqualizedLinearOptions {
  bool bias = true;
  BiasActivation activation = BiasActivation::linear;
  double lr_multiplier = 1.0;
  double bias_init = 0.0;
};

class EqualizedLinearImpl : public torch::nn::Module {
 public:
  EqualizedLinearImpl(int64_t in_features, int64_t out_features, EqualizedLinearOptions options = {});
  at::Tensor forward(const at::Tensor& x);  // [N, in] -> [N, out]
  const EqualizedLinearOptions& options() const { return options_; }
  double weight_gain() const { return weight_gain_; }  // lr_multiplier / √in

  at::Tensor weight;  // [out, in]
  at::Tensor bias;    // [out] or undefined

 private:
  EqualizedLinearOptions options_;
  double weight_gain_;
};
TORCH_MODULE(EqualizedLinear);

}  // namespace loom::nn

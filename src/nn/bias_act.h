#pragma once
// Bias, activation, gain and clamp in one call (NVlabs bias_act): y = clamp(act(x + b) * gain, ±clamp).
// StyleGAN2 layers use leaky ReLU (slope 0.2) with gain √2 so activations keep unit variance.
#include <optional>

#include <ATen/core/Tensor.h>

namespace loom::nn {

enum class BiasActivation { linear, lrelu };

// √2 for lrelu, 1 for linear: the default gain NVlabs pairs with each activation.
double default_gain(BiasActivation activation);

// x [N, C, ...] with the bias over dim 1 (b may be undefined).
at::Tensor bias_act(const at::Tensor& x, const at::Tensor& b, BiasActivation activation, double gain,
                    std::optional<double> clamp = std::nullopt);

}  // namespace loom::nn

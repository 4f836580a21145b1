#include "models/blazestylegan/student_layers.h"

#include <cmath>

#include <ATen/ops/conv2d.h>
#include <ATen/ops/conv_transpose2d.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/rsqrt.h>
#include <ATen/ops/tanh.h>
#include <ATen/ops/zeros.h>

#include "nn/bias_act.h"
#include "nn/modulated_conv2d.h"
#include "nn/upfirdn2d.h"

namespace loom {

at::Tensor modulated_depthwise_conv2d(const at::Tensor& x, const at::Tensor& weight_dw,
                                      const at::Tensor& weight_permute, const at::Tensor& styles,
                                      const at::Tensor& resample_filter) {
  const int64_t n = x.size(0), in = weight_dw.size(0);
  const double scale = depthwise_style_scale(weight_dw);
  at::Tensor y = x * (styles * scale).to(x.scalar_type()).reshape({n, in, 1, 1});
  if (resample_filter.defined()) {
    // Stride-2 transposed depthwise conv, then the FIR filter padded as nn::conv2d_resample pads its
    // 3x3 up path (1 on each side), so the output is exactly 2H x 2W.
    y = at::conv_transpose2d(y, weight_dw.to(y.scalar_type()), {}, {2, 2}, {0, 0}, {0, 0}, in);
    y = nn::upfirdn2d(y, resample_filter, 1, 1, {1, 1, 1, 1}, 4.0);
  } else {
    y = at::conv2d(y, weight_dw.to(y.scalar_type()), {}, {1, 1}, {1, 1}, {1, 1}, in);
  }
  y = at::conv2d(y, weight_permute.to(y.scalar_type()));
  return y * depthwise_demodulation(weight_dw, weight_permute).to(y.scalar_type()).reshape({1, -1, 1, 1});
}

double depthwise_style_scale(const at::Tensor& weight_dw) {
  return 1.0 / std::sqrt(static_cast<double>(weight_dw.size(0) * weight_dw.size(2) * weight_dw.size(3)));
}

at::Tensor depthwise_demodulation(const at::Tensor& weight_dw, const at::Tensor& weight_permute) {
  // Σ_{i,k} (scale·w_dw[i,k]·w_pw[o,i])² = scale² Σ_i w_pw[o,i]² Σ_k w_dw[i,k]²: style-independent.
  const double scale = depthwise_style_scale(weight_dw);
  const at::Tensor energy = at::matmul(weight_permute.flatten(1).square(), weight_dw.flatten(1).square().sum(1));
  return at::rsqrt(energy * (scale * scale) + 1e-8);
}

StudentLayerImpl::StudentLayerImpl(int64_t in_channels, int64_t out_channels, int64_t w_dim, int64_t resolution,
                                   StudentConv kind, bool up, std::optional<double> conv_clamp)
    : kind_(kind), resolution_(resolution), up_(up), conv_clamp_(conv_clamp) {
  affine =
      register_module("affine", nn::EqualizedLinear(w_dim, in_channels, nn::EqualizedLinearOptions{.bias_init = 1.0}));
  if (kind == StudentConv::full) {
    weight = register_parameter("weight", at::randn({out_channels, in_channels, 3, 3}));
  } else {
    weight_dw = register_parameter("weight_dw", at::randn({in_channels, 1, 3, 3}));
    weight_permute = register_parameter("weight_permute", at::randn({out_channels, in_channels, 1, 1}));
  }
  bias = register_parameter("bias", at::zeros({out_channels}));
  noise_strength = register_parameter("noise_strength", at::zeros({}));
  noise_const = register_buffer("noise_const", at::randn({resolution, resolution}));
  if (up) resample_filter = register_buffer("resample_filter", nn::make_resample_filter());
}

at::Tensor StudentLayerImpl::forward(const at::Tensor& x, const at::Tensor& w, NoiseMode noise_mode,
                                     const at::Tensor& noise_map) {
  const at::Tensor noise = layer_noise(noise_map, noise_mode, noise_const, noise_strength, x, resolution_);
  at::Tensor y;
  if (kind_ == StudentConv::full) {
    y = nn::modulated_conv2d(x, weight, affine->forward(w), noise, up_ ? 2 : 1, 1, resample_filter, true);
  } else {
    y = modulated_depthwise_conv2d(x, weight_dw, weight_permute, at::tanh(affine->forward(w)), resample_filter);
    if (noise.defined()) y = y + noise.to(y.scalar_type());
  }
  return nn::bias_act(y, bias, nn::BiasActivation::lrelu, std::sqrt(2.0), conv_clamp_);
}

int64_t StudentLayerImpl::multiply_accumulates() const {
  const int64_t out_pixels = resolution_ * resolution_, in_pixels = up_ ? out_pixels / 4 : out_pixels;
  const int64_t affine_macs = affine->weight.numel();
  if (kind_ == StudentConv::full) return affine_macs + in_pixels * weight.numel();
  return affine_macs + in_pixels * weight_dw.numel() + out_pixels * weight_permute.numel();
}

}  // namespace loom

#include "models/stylegan2/synthesis_layer.h"

#include <cmath>

#include <ATen/ops/randn.h>
#include <ATen/ops/zeros.h>

#include "core/error.h"
#include "core/text/cat.h"
#include "nn/bias_act.h"
#include "nn/modulated_conv2d.h"
#include "nn/upfirdn2d.h"

namespace loom {

NoiseMode parse_noise_mode(const std::string& name) {
  if (name == "random") return NoiseMode::random;
  if (name == "const") return NoiseMode::constant;
  if (name == "none") return NoiseMode::none;
  throw UserError(cat("unknown noise mode '", name, "' (random, const or none)"));
}

SynthesisLayerImpl::SynthesisLayerImpl(int64_t in_channels, int64_t out_channels, int64_t w_dim, int64_t resolution,
                                       int64_t up, std::optional<double> conv_clamp)
    : resolution_(resolution), up_(up), conv_clamp_(conv_clamp) {
  affine =
      register_module("affine", nn::EqualizedLinear(w_dim, in_channels, nn::EqualizedLinearOptions{.bias_init = 1.0}));
  weight = register_parameter("weight", at::randn({out_channels, in_channels, 3, 3}));
  bias = register_parameter("bias", at::zeros({out_channels}));
  noise_strength = register_parameter("noise_strength", at::zeros({}));
  noise_const = register_buffer("noise_const", at::randn({resolution, resolution}));
  resample_filter = register_buffer("resample_filter", nn::make_resample_filter());
}

at::Tensor SynthesisLayerImpl::forward(const at::Tensor& x, const at::Tensor& w, NoiseMode noise_mode) {
  at::Tensor styles = affine->forward(w);
  at::Tensor noise;
  if (noise_mode == NoiseMode::random)
    noise = at::randn({x.size(0), 1, resolution_, resolution_}, x.options().dtype(at::kFloat)) * noise_strength;
  else if (noise_mode == NoiseMode::constant)
    noise = noise_const * noise_strength;
  at::Tensor y = nn::modulated_conv2d(x, weight, styles, noise, up_, 1, resample_filter, true);
  return nn::bias_act(y, bias, nn::BiasActivation::lrelu, std::sqrt(2.0), conv_clamp_);
}

int64_t SynthesisLayerImpl::multiply_accumulates() const {
  const int64_t at_res = up_ > 1 ? resolution_ / up_ : resolution_;
  return at_res * at_res * weight.numel() + affine->weight.numel();
}

ToRgbLayerImpl::ToRgbLayerImpl(int64_t in_channels, int64_t out_channels, int64_t w_dim, int64_t resolution,
                               std::optional<double> conv_clamp)
    : resolution_(resolution),
      weight_gain_(1.0 / std::sqrt(static_cast<double>(in_channels))),
      conv_clamp_(conv_clamp) {
  affine =
      register_module("affine", nn::EqualizedLinear(w_dim, in_channels, nn::EqualizedLinearOptions{.bias_init = 1.0}));
  weight = register_parameter("weight", at::randn({out_channels, in_channels, 1, 1}));
  bias = register_parameter("bias", at::zeros({out_channels}));
}

at::Tensor ToRgbLayerImpl::forward(const at::Tensor& x, const at::Tensor& w) {
  at::Tensor styles = affine->forward(w) * weight_gain_;
  at::Tensor y = nn::modulated_conv2d(x, weight, styles, at::Tensor(), 1, 0, at::Tensor(), false);
  return nn::bias_act(y, bias, nn::BiasActivation::linear, 1.0, conv_clamp_);
}

int64_t ToRgbLayerImpl::multiply_accumulates() const {
  return resolution_ * resolution_ * weight.numel() + affine->weight.numel();
}

}  // namespace loom

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

int64_t noise_map_index(int64_t resolution, int64_t conv) {
  int64_t log2 = 0;
  while ((int64_t{1} << log2) < resolution) ++log2;
  return resolution == 4 ? 0 : 2 * log2 - 5 + conv;
}

int64_t noise_map_count(int64_t resolution) { return noise_map_index(resolution, 1) + 1; }

std::vector<at::Tensor> checked_noise_maps(const std::vector<at::Tensor>& noise, int64_t batch,
                                           int64_t last_resolution) {
  std::vector<at::Tensor> maps;
  for (int64_t r = 4; r <= last_resolution; r *= 2)
    for (int64_t conv = r == 4 ? 1 : 0; conv < 2; ++conv) {
      const at::Tensor& map = noise.at(maps.size());
      const bool square = map.defined() && map.dim() >= 2 && map.size(-1) == r && map.size(-2) == r;
      if (square && map.dim() == 2) {
        maps.push_back(map.view({1, 1, r, r}));
      } else if (square && map.dim() == 4 && map.size(1) == 1 && (map.size(0) == 1 || map.size(0) == batch)) {
        maps.push_back(map);
      } else {
        throw UserError(cat("synthesis.b", r, ".conv", conv, " (noise map ", maps.size(), "): the map must be [", r,
                            ", ", r, "], [1, 1, ", r, ", ", r, "] or [", batch, ", 1, ", r, ", ", r, "], got ",
                            map.defined() ? cat(map.sizes()) : std::string("an undefined tensor")));
      }
    }
  return maps;
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

at::Tensor layer_noise(const at::Tensor& noise_map, NoiseMode noise_mode, const at::Tensor& noise_const,
                       const at::Tensor& noise_strength, const at::Tensor& x, int64_t resolution) {
  if (noise_map.defined()) return noise_map * noise_strength;
  if (noise_mode == NoiseMode::random)
    return at::randn({x.size(0), 1, resolution, resolution}, x.options().dtype(at::kFloat)) * noise_strength;
  if (noise_mode == NoiseMode::constant) return noise_const * noise_strength;
  return {};
}

at::Tensor SynthesisLayerImpl::forward(const at::Tensor& x, const at::Tensor& w, NoiseMode noise_mode,
                                       const at::Tensor& noise_map) {
  at::Tensor styles = affine->forward(w);
  const at::Tensor noise = layer_noise(noise_map, noise_mode, noise_const, noise_strength, x, resolution_);
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

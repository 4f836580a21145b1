#pragma once
// The two layer kinds of the StyleGAN2 synthesis network (NVlabs SynthesisLayer, ToRGBLayer).
// SynthesisLayer: affine(w) -> styles, modulated 3x3 conv with demodulation (optionally upsampling 2x),
// per-pixel noise × noise_strength, bias, leaky ReLU × √2, clamp. ToRGBLayer: 1x1 modulated conv without
// demodulation (styles scaled by 1/√in), bias, clamp.
#include <cstdint>
#include <optional>
#include <string>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "nn/equalized_linear.h"

namespace loom {

enum class NoiseMode { random, constant, none };
NoiseMode parse_noise_mode(const std::string& name);  // "random" | "const" | "none"

class SynthesisLayerImpl : public torch::nn::Module {
 public:
  SynthesisLayerImpl(int64_t in_channels, int64_t out_channels, int64_t w_dim, int64_t resolution, int64_t up,
                     std::optional<double> conv_clamp);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& w, NoiseMode noise_mode);
  // As NVlabs costs the layer for one sample: the 3x3 conv at its input resolution when it is the
  // transposed (upsampling) conv, else at its output resolution; plus the affine.
  int64_t multiply_accumulates() const;

  nn::EqualizedLinear affine{nullptr};
  at::Tensor weight, bias, noise_strength;  // parameters
  at::Tensor noise_const, resample_filter;  // buffers

 private:
  int64_t resolution_, up_;
  std::optional<double> conv_clamp_;
};
TORCH_MODULE(SynthesisLayer);

class ToRgbLayerImpl : public torch::nn::Module {
 public:
  ToRgbLayerImpl(int64_t in_channels, int64_t out_channels, int64_t w_dim, int64_t resolution,
                 std::optional<double> conv_clamp);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& w);
  int64_t multiply_accumulates() const;

  nn::EqualizedLinear affine{nullptr};
  at::Tensor weight, bias;

 private:
  int64_t resolution_;
  double weight_gain_;
  std::optional<double> conv_clamp_;
};
TORCH_MODULE(ToRgbLayer);

}  // namespace loom

#pragma once
// The two layer kinds of the StyleGAN2 synthesis network (NVlabs SynthesisLayer, ToRGBLayer).
// SynthesisLayer: affine(w) -> styles, modulated 3x3 conv with demodulation (optionally upsampling 2x),
// per-pixel noise × noise_strength, bias, leaky ReLU × √2, clamp. ToRGBLayer: 1x1 modulated conv without
// demodulation (styles scaled by 1/√in), bias, clamp. Also the teacher's layout of noise maps, which
// students fed the same maps share.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "nn/equalized_linear.h"

namespace loom {

enum class NoiseMode { random, constant, none };
NoiseMode parse_noise_mode(const std::string& name);  // "random" | "const" | "none"

// One noise map per synthesis layer in NVlabs' order b4.conv1, b8.conv0, b8.conv1, b16.conv0, …: the
// map of b{resolution}.conv{conv} is entry noise_map_index(resolution, conv), and a network of output
// side R has noise_map_count(R) of them (2·log2(R) − 3).
int64_t noise_map_index(int64_t resolution, int64_t conv);
int64_t noise_map_count(int64_t resolution);
// The first noise_map_count(last_resolution) maps of `noise` (which must have them), each ([r, r],
// [1, 1, r, r] or [batch, 1, r, r]) as [1 or batch, 1, r, r]; UserError naming the layer otherwise.
std::vector<at::Tensor> checked_noise_maps(const std::vector<at::Tensor>& noise, int64_t batch,
                                           int64_t last_resolution);

// The noise a layer adds, times its noise_strength: the given map, else a fresh [N, 1, r, r] draw
// (random), its noise_const (constant), or undefined (none). Shared with the BlazeStyleGAN student.
at::Tensor layer_noise(const at::Tensor& noise_map, NoiseMode noise_mode, const at::Tensor& noise_const,
                       const at::Tensor& noise_strength, const at::Tensor& x, int64_t resolution);

class SynthesisLayerImpl : public torch::nn::Module {
 public:
  SynthesisLayerImpl(int64_t in_channels, int64_t out_channels, int64_t w_dim, int64_t resolution, int64_t up,
                     std::optional<double> conv_clamp);
  // A defined `noise_map` (shaped by checked_noise_maps) replaces the noise whatever the mode.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& w, NoiseMode noise_mode,
                     const at::Tensor& noise_map = at::Tensor());
  int64_t resolution() const { return resolution_; }
  int64_t up() const { return up_; }
  std::optional<double> conv_clamp() const { return conv_clamp_; }
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
  double weight_gain() const { return weight_gain_; }  // the styles' 1/√in
  std::optional<double> conv_clamp() const { return conv_clamp_; }

  nn::EqualizedLinear affine{nullptr};
  at::Tensor weight, bias;

 private:
  int64_t resolution_;
  double weight_gain_;
  std::optional<double> conv_clamp_;
};
TORCH_MODULE(ToRgbLayer);

}  // namespace loom

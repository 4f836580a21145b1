#pragma once
// The student's synthesis layer: affine(w) -> styles, a modulated 3x3 conv (optionally upsampling ×2),
// noise × noise_strength, bias, leaky ReLU × √2, clamp. The conv is one of
//   depthwise  BlazeStyleGAN's simplified modulated convolution, as MobileStyleGAN's ModulatedDWConv2d:
//              styles tanh(affine(w)) · 1/√(in·9) scale the input, a depthwise 3x3 (`weight_dw`
//              [in, 1, 3, 3]) then a pointwise 1x1 (`weight_permute` [out, in, 1, 1]) conv, and each
//              output channel is demodulated from the weights only, rsqrt(Σ (scale·w_dw·w_pw)² + 1e-8):
//              no per-sample weights, so it runs as two ordinary convolutions;
//   full       NVlabs' modulated conv with per-sample demodulation (`weight` [out, in, 3, 3]).
// Upsampling (upsample: transposed) is a stride-2 transposed conv and the [1,3,3,1] FIR filter, as the
// teacher's conv0; for depthwise the transposed conv is the depthwise one.
// Parameters: affine.{weight, bias}, weight | weight_dw + weight_permute, bias, noise_strength; buffers
// noise_const [r, r] and, when upsampling, resample_filter.
#include <cstdint>
#include <optional>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "models/blazestylegan/blazestylegan_options.h"
#include "models/stylegan2/synthesis_layer.h"
#include "nn/equalized_linear.h"

namespace loom {

// The depthwise modulated conv alone: x [N, I, H, W], styles [N, I] (after tanh), weight_dw [I, 1, 3, 3],
// weight_permute [O, I, 1, 1]; resample_filter defined = upsample ×2 -> [N, O, 2H, 2W].
at::Tensor modulated_depthwise_conv2d(const at::Tensor& x, const at::Tensor& weight_dw,
                                      const at::Tensor& weight_permute, const at::Tensor& styles,
                                      const at::Tensor& resample_filter);
// Its two weight-only factors: the styles' scale 1/√(in·k²) and the demodulation [O],
// rsqrt(scale² Σ_{i,k} (w_dw[i,k]·w_pw[o,i])² + 1e-8) (exporters bake both in as constants).
double depthwise_style_scale(const at::Tensor& weight_dw);
at::Tensor depthwise_demodulation(const at::Tensor& weight_dw, const at::Tensor& weight_permute);

class StudentLayerImpl : public torch::nn::Module {
 public:
  // `resolution` is the output side; `up` makes the conv upsample from resolution / 2.
  StudentLayerImpl(int64_t in_channels, int64_t out_channels, int64_t w_dim, int64_t resolution, StudentConv kind,
                   bool up, std::optional<double> conv_clamp);
  // x [N, in, r, r] (r / 2 when upsampling), w [N, w_dim]; a defined noise_map (checked_noise_maps'
  // shape) replaces the noise whatever the mode.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& w, NoiseMode noise_mode,
                     const at::Tensor& noise_map = at::Tensor());
  // For one sample: the affine, and the convs at their input resolution when transposed, else at the
  // output resolution (the stylegan.md §5.2 convention); demodulation, FIR, noise and bias not.
  int64_t multiply_accumulates() const;
  int64_t resolution() const { return resolution_; }
  StudentConv kind() const { return kind_; }
  bool up() const { return up_; }
  std::optional<double> conv_clamp() const { return conv_clamp_; }

  nn::EqualizedLinear affine{nullptr};
  at::Tensor weight;                     // full
  at::Tensor weight_dw, weight_permute;  // depthwise
  at::Tensor bias, noise_strength;
  at::Tensor noise_const, resample_filter;  // buffers

 private:
  StudentConv kind_;
  int64_t resolution_;
  bool up_;
  std::optional<double> conv_clamp_;
};
TORCH_MODULE(StudentLayer);

}  // namespace loom

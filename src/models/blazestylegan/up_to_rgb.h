#pragma once
// BlazeStyleGAN's UpToRGB head: a 1x1 modulated conv without demodulation (styles affine(w) · 1/√in,
// as NVlabs' ToRGB) and a bias, then the level's RGB. With final_upsample none it emits img_channels
// at the level's side; with haar or pixel_shuffle it emits 4·img_channels at the level's side and
// returns RGB at twice it: haar reads them as Haar coefficients (img_channels LL, then the three high
// bands, nn/haar_wavelet.h) and inverts the DWT, pixel_shuffle rearranges them (PixelShuffle(2)).
// Every level has one (the multi-scale losses compare each); inference runs only the last.
// Parameters: affine.{weight, bias}, weight [K, in, 1, 1], bias [K].
#include <cstdint>
#include <optional>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "models/blazestylegan/blazestylegan_options.h"
#include "nn/equalized_linear.h"

namespace loom {

class UpToRgbImpl : public torch::nn::Module {
 public:
  UpToRgbImpl(int64_t in_channels, int64_t img_channels, int64_t w_dim, int64_t resolution, FinalUpsample upsample,
              std::optional<double> conv_clamp);
  // x [N, in, r, r], w [N, w_dim] -> [N, img_channels, r·s, r·s] with s = output_scale().
  at::Tensor forward(const at::Tensor& x, const at::Tensor& w);
  int64_t output_scale() const { return upsample_ == FinalUpsample::none ? 1 : 2; }
  FinalUpsample upsample() const { return upsample_; }
  double weight_gain() const { return weight_gain_; }  // the styles' 1/√in
  std::optional<double> conv_clamp() const { return conv_clamp_; }
  int64_t multiply_accumulates() const;  // the affine and the 1x1 conv at the level's side

  nn::EqualizedLinear affine{nullptr};
  at::Tensor weight, bias;

 private:
  int64_t resolution_;
  double weight_gain_;
  FinalUpsample upsample_;
  std::optional<double> conv_clamp_;
};
TORCH_MODULE(UpToRgb);

}  // namespace loom

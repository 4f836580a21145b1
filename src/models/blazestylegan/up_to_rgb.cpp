#include "models/blazestylegan/up_to_rgb.h"

#include <cmath>

#include <ATen/ops/pixel_shuffle.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/zeros.h>

#include "nn/bias_act.h"
#include "nn/haar_wavelet.h"
#include "nn/modulated_conv2d.h"

namespace loom {

UpToRgbImpl::UpToRgbImpl(int64_t in_channels, int64_t img_channels, int64_t w_dim, int64_t resolution,
                         FinalUpsample upsample, std::optional<double> conv_clamp)
    : resolution_(resolution),
      weight_gain_(1.0 / std::sqrt(static_cast<double>(in_channels))),
      upsample_(upsample),
      conv_clamp_(conv_clamp) {
  const int64_t out_channels = img_channels * (upsample == FinalUpsample::none ? 1 : 4);
  affine =
      register_module("affine", nn::EqualizedLinear(w_dim, in_channels, nn::EqualizedLinearOptions{.bias_init = 1.0}));
  weight = register_parameter("weight", at::randn({out_channels, in_channels, 1, 1}));
  bias = register_parameter("bias", at::zeros({out_channels}));
}

at::Tensor UpToRgbImpl::forward(const at::Tensor& x, const at::Tensor& w) {
  const at::Tensor styles = affine->forward(w) * weight_gain_;
  at::Tensor y = nn::modulated_conv2d(x, weight, styles, at::Tensor(), 1, 0, at::Tensor(), false);
  y = nn::bias_act(y, bias, nn::BiasActivation::linear, 1.0, conv_clamp_);
  if (upsample_ == FinalUpsample::haar) return nn::haar_idwt(y);
  if (upsample_ == FinalUpsample::pixel_shuffle) return at::pixel_shuffle(y, 2);
  return y;
}

int64_t UpToRgbImpl::multiply_accumulates() const {
  return affine->weight.numel() + resolution_ * resolution_ * weight.numel();
}

}  // namespace loom

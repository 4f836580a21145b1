#include "nn/equalized_conv2d.h"

#include <cmath>

#include <ATen/ops/randn.h>
#include <ATen/ops/zeros.h>

#include "nn/conv2d_resample.h"
#include "nn/upfirdn2d.h"

namespace loom::nn {

EqualizedConv2dImpl::EqualizedConv2dImpl(int64_t in_channels, int64_t out_channels, int64_t kernel_size,
                                         EqualizedConv2dOptions options)
    : options_(options), weight_gain_(1.0 / std::sqrt(static_cast<double>(in_channels * kernel_size * kernel_size))) {
  resample_filter = register_buffer("resample_filter", make_resample_filter());
  at::Tensor w = at::randn({out_channels, in_channels, kernel_size, kernel_size});
  at::Tensor b = options.bias ? at::zeros({out_channels}) : at::Tensor();
  if (options.trainable) {
    weight = register_parameter("weight", w);
    if (b.defined()) bias = register_parameter("bias", b);
  } else {
    weight = register_buffer("weight", w);
    if (b.defined()) bias = register_buffer("bias", b);
  }
}

at::Tensor EqualizedConv2dImpl::forward(const at::Tensor& x, double gain) {
  at::Tensor w = (weight * weight_gain_).to(x.scalar_type());
  at::Tensor y = conv2d_resample(x, w, resample_filter, options_.up, options_.down, weight.size(-1) / 2);
  std::optional<double> clamp;
  if (options_.conv_clamp) clamp = *options_.conv_clamp * gain;
  return bias_act(y, bias, options_.activation, default_gain(options_.activation) * gain, clamp);
}

int64_t EqualizedConv2dImpl::multiply_accumulates(int64_t h, int64_t w) const {
  // Costed as executed: a strided conv at its output resolution, a transposed one at its input's.
  return (h / options_.down) * (w / options_.down) * weight.numel();
}

}  // namespace loom::nn

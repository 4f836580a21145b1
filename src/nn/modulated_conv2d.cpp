#include "nn/modulated_conv2d.h"

#include <cmath>

#include <ATen/ops/matmul.h>
#include <ATen/ops/rsqrt.h>

#include "nn/conv2d_resample.h"

namespace loom::nn {

at::Tensor modulated_conv2d(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& styles,
                            const at::Tensor& noise, int64_t up, int64_t padding, const at::Tensor& resample_filter,
                            bool demodulate) {
  const int64_t n = x.size(0), in = weight.size(1);
  at::Tensor w = weight, s = styles;
  if (x.scalar_type() == at::kHalf && demodulate) {
    const double fan_in = static_cast<double>(in * weight.size(2) * weight.size(3));
    w = w * (1.0 / std::sqrt(fan_in) / w.abs().amax({1, 2, 3}, true));
    s = s / s.abs().amax({1}, true);
  }
  at::Tensor y = x * s.to(x.scalar_type()).reshape({n, in, 1, 1});
  y = conv2d_resample(y, w.to(x.scalar_type()), resample_filter, up, 1, padding);
  if (demodulate) {
    // Σ_{i,k} (w[o,i,k]·s[n,i])² = Σ_i s[n,i]² · Σ_k w[o,i,k]².
    at::Tensor dcoefs = at::rsqrt(at::matmul(s.square(), w.square().sum({2, 3}).t()) + 1e-8);
    y = y * dcoefs.to(y.scalar_type()).reshape({n, -1, 1, 1});
  }
  if (noise.defined()) y = y + noise.to(y.scalar_type());
  return y;
}

}  // namespace loom::nn

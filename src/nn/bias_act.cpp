#include "nn/bias_act.h"

#include <cmath>
#include <vector>

#include <ATen/ops/clamp.h>
#include <ATen/ops/leaky_relu.h>

namespace loom::nn {

double default_gain(BiasActivation activation) { return activation == BiasActivation::lrelu ? std::sqrt(2.0) : 1.0; }

at::Tensor bias_act(const at::Tensor& x, const at::Tensor& b, BiasActivation activation, double gain,
                    std::optional<double> clamp) {
  at::Tensor y = x;
  if (b.defined()) {
    std::vector<int64_t> shape(static_cast<size_t>(x.dim()), 1);
    shape[1] = b.numel();
    y = y + b.to(x.scalar_type()).view(shape);
  }
  if (activation == BiasActivation::lrelu) y = at::leaky_relu(y, 0.2);
  if (gain != 1.0) y = y * gain;
  if (clamp && *clamp >= 0) y = at::clamp(y, -*clamp, *clamp);
  return y;
}

}  // namespace loom::nn

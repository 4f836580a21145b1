#include "nn/equalized_linear.h"

#include <cmath>

#include <ATen/ops/addmm.h>
#include <ATen/ops/full.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/randn.h>

namespace loom::nn {

EqualizedLinearImpl::EqualizedLinearImpl(int64_t in_features, int64_t out_features, EqualizedLinearOptions options)
    : options_(options), weight_gain_(options.lr_multiplier / std::sqrt(static_cast<double>(in_features))) {
  weight = register_parameter("weight", at::randn({out_features, in_features}) / options.lr_multiplier);
  if (options.bias) bias = register_parameter("bias", at::full({out_features}, options.bias_init));
}

at::Tensor EqualizedLinearImpl::forward(const at::Tensor& x) {
  at::Tensor w = weight.to(x.scalar_type()) * weight_gain_;
  at::Tensor b = bias.defined() ? bias.to(x.scalar_type()) * options_.lr_multiplier : at::Tensor();
  if (options_.activation == BiasActivation::linear && b.defined()) return at::addmm(b.unsqueeze(0), x, w.t());
  return bias_act(at::matmul(x, w.t()), b, options_.activation, default_gain(options_.activation));
}

}  // namespace loom::nn

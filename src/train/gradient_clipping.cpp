#include "train/gradient_clipping.h"

#include <ATen/ops/_foreach_mul.h>
#include <ATen/ops/_foreach_norm.h>
#include <ATen/ops/clamp.h>
#include <ATen/ops/stack.h>

namespace loom {

GradientNorm::operator double() const { return value.defined() ? value.item<double>() : 0.0; }

GradientNorm clip_gradients(const std::vector<at::Tensor>& parameters, const GradientClipOptions& options) {
  std::vector<at::Tensor> grads;
  for (const auto& p : parameters)
    if (p.grad().defined()) grads.push_back(p.grad());
  if (grads.empty()) return {};
  at::Tensor norm = at::stack(at::_foreach_norm(grads, 2)).norm();
  if (options.mode == "norm") {
    // Scale by min(1, max / norm) without a host sync on the comparison.
    at::Tensor factor = at::clamp(options.max / (norm + 1e-6), c10::nullopt, 1.0);
    at::_foreach_mul_(grads, factor);
  } else if (options.mode == "value") {
    for (auto& g : grads) g.clamp_(-options.max, options.max);
  }
  return {norm};
}

}  // namespace loom

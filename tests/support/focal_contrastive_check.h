#pragma once
// Shared by the CPU (Catch2) and GPU (plain executable) tests of loom::focal_contrastive_loss: one
// evaluation of loss + gradient and the relative error measure. Torch-only, for the GPU machines.
#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>

#include <algorithm>
#include <optional>

namespace loom::test {

using LossFn = at::Tensor (*)(const at::Tensor&, const at::Tensor&, double, double, std::optional<double>);

struct LossAndGrad {
  at::Tensor loss, grad;
};

// Loss and d loss / d logits on the logits' device, returned on the CPU.
inline LossAndGrad eval(LossFn fn, const at::Tensor& logits, const at::Tensor& targets, double alpha, double gamma,
                        std::optional<double> normalizer) {
  at::Tensor x = logits.detach().clone().requires_grad_(true);
  at::Tensor loss = fn(x, targets, alpha, gamma, normalizer);
  at::Tensor grad = torch::autograd::grad({loss}, {x})[0];
  return {loss.detach().cpu(), grad.cpu()};
}

// max |a - b| / max |b|, in float64 on the CPU.
inline double rel_err(const at::Tensor& a, const at::Tensor& b) {
  const at::Tensor ad = a.cpu().to(at::kDouble), bd = b.cpu().to(at::kDouble);
  const double scale = std::max(bd.abs().max().item<double>(), 1e-300);
  return (ad - bd).abs().max().item<double>() / scale;
}

}  // namespace loom::test

#pragma once
// Shared by the tests/losses cases: the relative error measure, a float64 central-difference gradient
// check (torch.autograd.gradcheck exists only in Python) and reading a reference file by name.
#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>

#include <algorithm>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/io/weights.h"

namespace loom::test {

// max |a - b| / max |b| in float64; exact zeros on both sides count as agreement.
inline double relative_error(const at::Tensor& a, const at::Tensor& b) {
  const at::Tensor ad = a.detach().cpu().to(at::kDouble), bd = b.detach().cpu().to(at::kDouble);
  const double diff = (ad - bd).abs().max().item<double>();
  return diff == 0.0 ? 0.0 : diff / std::max(bd.abs().max().item<double>(), 1e-300);
}

using ScalarFunction = std::function<at::Tensor(const std::vector<at::Tensor>&)>;

// Largest difference between the autograd gradient of the scalar `fn` and central differences with
// step `eps`, over all inputs, relative to the largest numerical gradient entry of any input: a gradient
// that is exactly zero (the CLIP loss ignores a constant bias) then compares against the others' scale
// rather than against differencing noise. The inputs must be float64 (float32 differences are noise).
inline double gradient_check_error(const ScalarFunction& fn, const std::vector<at::Tensor>& inputs, double eps = 1e-6) {
  std::vector<at::Tensor> leaves;
  for (const at::Tensor& x : inputs) {
    TORCH_CHECK(x.scalar_type() == at::kDouble, "gradient_check_error needs float64 inputs");
    leaves.push_back(x.detach().clone().requires_grad_(true));
  }
  const std::vector<at::Tensor> analytic = torch::autograd::grad({fn(leaves)}, leaves);
  std::vector<at::Tensor> numerics;
  at::NoGradGuard no_grad;
  for (size_t k = 0; k < leaves.size(); ++k) {
    std::vector<at::Tensor> probe;
    for (const at::Tensor& x : leaves) probe.push_back(x.detach().clone());
    at::Tensor flat = probe[k].view({-1});
    at::Tensor numeric = at::empty_like(flat);
    for (int64_t i = 0; i < flat.numel(); ++i) {
      const double x0 = flat[i].item<double>();
      flat[i].fill_(x0 + eps);
      const double up = fn(probe).item<double>();
      flat[i].fill_(x0 - eps);
      const double down = fn(probe).item<double>();
      flat[i].fill_(x0);
      numeric[i].fill_((up - down) / (2 * eps));
    }
    numerics.push_back(numeric.view_as(probe[k]));
  }
  double worst_diff = 0.0, scale = 0.0;
  for (size_t k = 0; k < leaves.size(); ++k) {
    worst_diff = std::max(worst_diff, (analytic[k] - numerics[k]).abs().max().item<double>());
    scale = std::max(scale, numerics[k].abs().max().item<double>());
  }
  return worst_diff == 0.0 ? 0.0 : worst_diff / std::max(scale, 1e-300);
}

// A safetensors reference file written by tests/python, by tensor name.
inline std::map<std::string, at::Tensor> read_reference(const std::string& path) {
  std::map<std::string, at::Tensor> out;
  for (auto& [name, tensor] : weights::read(path)) out.emplace(name, tensor);
  return out;
}

}  // namespace loom::test

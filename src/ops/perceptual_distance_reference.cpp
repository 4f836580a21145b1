// Plain-ATen LPIPS layer distance, step for step as lpips/lpips.py computes it (normalize_tensor,
// (n0 - n1)**2, lin conv without bias, spatial_average); autograd goes through ATen.
#include <ATen/ATen.h>

#include "ops/perceptual_distance.h"

namespace loom::ops {

at::Tensor perceptual_distance_reference(const at::Tensor& f0, const at::Tensor& f1, const at::Tensor& weight,
                                         double eps) {
  TORCH_CHECK(f0.dim() == 4 && f0.sizes() == f1.sizes(), "perceptual_distance: f0 and f1 must be 4-D and alike, got ",
              f0.sizes(), " and ", f1.sizes());
  TORCH_CHECK(weight.dim() == 1 && weight.size(0) == f0.size(1), "perceptual_distance: weight must be [C] = [",
              f0.size(1), "], got ", weight.sizes());
  const auto normalize = [eps](const at::Tensor& f) { return f / (at::sqrt((f * f).sum(1, true)) + eps); };
  const at::Tensor diff = (normalize(f0) - normalize(f1)).pow(2);
  const at::Tensor weighted = (diff * weight.to(diff.scalar_type()).view({1, -1, 1, 1})).sum(1);
  return weighted.mean({1, 2});
}

}  // namespace loom::ops

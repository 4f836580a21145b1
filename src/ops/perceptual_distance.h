#pragma once
// LPIPS's per-layer distance (lpips 0.1.4, lpips/lpips.py: normalize_tensor, squared difference, the
// 1x1 `lin` head, spatial_average) as one op: for features f0, f1 [N, C, H, W] and channel weights w [C],
//   d[n] = 1/(H·W) Σ_{h,w} Σ_c w_c · (f0_c / (‖f0‖ + eps) − f1_c / (‖f1‖ + eps))²
// where ‖·‖ is the L2 norm over channels at each pixel and eps (1e-10 in lpips) sits outside the root.
#include <ATen/core/Tensor.h>

namespace loom::ops {

// The dispatcher op loom::perceptual_distance (fused CPU and CUDA kernels, autograd to f0, f1 and
// weight; a cheaper backward when f1 needs no gradient). f0, f1: 4-D, same shape and floating dtype;
// weight: 1-D [C]. Returns [N] of f0's dtype.
//
// Float16 and bfloat16 features are computed in float32, and the weight in the features' compute type
// (float32 or float64), whatever its own dtype; its gradient comes back in its dtype. At a pixel where
// f0 (or f1) is all zero the gradient to it is its limit there, g / eps with g = ∂d/∂(normalised f0);
// the ATen composition gives NaN (sqrt's backward divides 0 by 0).
at::Tensor perceptual_distance(const at::Tensor& f0, const at::Tensor& f1, const at::Tensor& weight,
                               double eps = 1e-10);

// The same distance composed from plain ATen ops (autograd through ATen): the ground truth for tests
// and the baseline for the benchmark. It materialises both normalised feature maps.
at::Tensor perceptual_distance_reference(const at::Tensor& f0, const at::Tensor& f1, const at::Tensor& weight,
                                         double eps = 1e-10);

namespace detail {
// Throws (TORCH_CHECK) on bad arguments; shared by the op's CPU and CUDA kernels.
void check_perceptual_distance_args(const at::Tensor& f0, const at::Tensor& f1, const at::Tensor& weight, double eps);
}  // namespace detail

}  // namespace loom::ops

// Internal: the CPU kernels of loom::focal_contrastive_loss, one build per CPU capability
// (focal_contrastive_cpu_kernel.cpp), and the op's CPU entry points with the build made explicit so that
// tests can run each one.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>

#include "ops/cpu_capability.h"

namespace loom::ops {

// A contiguous [rows, cols] logits matrix and its targets. Raw pointers keep tensor code out of the
// per-capability builds, whose inline functions could otherwise be shared with (and picked for) the rest.
template <typename scalar_t>
struct FocalContrastiveRows {
  const scalar_t* logits;
  const int64_t* targets;
  int64_t rows, cols;
  double alpha, gamma;
};

// Explicitly instantiated for float, double, c10::Half and c10::BFloat16 in each build.
namespace DEFAULT {
template <typename scalar_t>
double focal_contrastive_forward_sum(const FocalContrastiveRows<scalar_t>& in);
template <typename scalar_t>
void focal_contrastive_backward(const FocalContrastiveRows<scalar_t>& in, double scale, scalar_t* grad_logits);
}  // namespace DEFAULT
namespace AVX2 {
template <typename scalar_t>
double focal_contrastive_forward_sum(const FocalContrastiveRows<scalar_t>& in);
template <typename scalar_t>
void focal_contrastive_backward(const FocalContrastiveRows<scalar_t>& in, double scale, scalar_t* grad_logits);
}  // namespace AVX2

// The CPU kernels registered for the op run these with cpu_capability(). `capability` must be supported.
at::Tensor focal_contrastive_forward_cpu(const at::Tensor& logits, const at::Tensor& targets, double alpha,
                                         double gamma, std::optional<double> normalizer, CpuCapability capability);
at::Tensor focal_contrastive_backward_cpu(const at::Tensor& grad, const at::Tensor& logits, const at::Tensor& targets,
                                          double alpha, double gamma, std::optional<double> normalizer,
                                          CpuCapability capability);

}  // namespace loom::ops

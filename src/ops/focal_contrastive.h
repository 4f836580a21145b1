#pragma once
// Focal contrastive loss (RO-ViT, google-research fvlm/rovit/focal_contrastive_loss.py): a sigmoid focal
// loss over every entry of logits [N, C] with one-hot targets, summed (and divided by `normalizer` when given).
// For image-text contrastive learning pass the BxB scaled similarity matrix and targets = arange(B).
#include <ATen/core/Tensor.h>

#include <optional>

namespace loom::ops {

// The dispatcher op loom::focal_contrastive_loss (CPU and CUDA kernels, autograd wired in C++).
// logits: 2-D float/double/half/bfloat16; targets: 1-D int64 [N] with values in [0, C).
// Returns a 0-d tensor of logits' dtype (computed in float/double; an unnormalised float16 sum over a
// large matrix can exceed 65504, so pass a normalizer or float32 logits there).
at::Tensor focal_contrastive_loss(const at::Tensor& logits, const at::Tensor& targets, double alpha = 0.5,
                                  double gamma = 1.0, std::optional<double> normalizer = std::nullopt);

// The same loss composed from plain ATen ops (autograd through ATen); the ground truth for tests and
// the baseline for the benchmark.
at::Tensor focal_contrastive_loss_reference(const at::Tensor& logits, const at::Tensor& targets, double alpha = 0.5,
                                            double gamma = 1.0, std::optional<double> normalizer = std::nullopt);

namespace detail {
// Throws (TORCH_CHECK) on bad arguments; shared by the op's CPU and CUDA kernels. The targets' range
// is checked here only for CPU tensors (a CUDA check would synchronise; the CUDA kernels assert it).
void check_focal_contrastive_args(const at::Tensor& logits, const at::Tensor& targets, double alpha, double gamma,
                                  std::optional<double> normalizer);
}  // namespace detail

}  // namespace loom::ops

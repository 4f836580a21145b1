// CPU entry points of loom::focal_contrastive_loss: argument checks, layout, dtype dispatch, and the
// choice between the kernel's builds (focal_contrastive_cpu_kernel.cpp) by CPU capability.
#include "ops/focal_contrastive_cpu.h"

#include <ATen/ATen.h>
#include <torch/library.h>

#include "ops/focal_contrastive.h"

namespace loom::ops {
namespace {

template <typename scalar_t>
FocalContrastiveRows<scalar_t> rows_of(const at::Tensor& x, const at::Tensor& t, double alpha, double gamma) {
  return {x.const_data_ptr<scalar_t>(), t.const_data_ptr<int64_t>(), x.size(0), x.size(1), alpha, gamma};
}

void check_supported(CpuCapability capability) {
  TORCH_CHECK(cpu_supports(capability), "focal_contrastive_loss: this CPU lacks the instructions of the requested ",
              "kernel build (AVX2, FMA, F16C)");
}

at::Tensor forward_cpu(const at::Tensor& logits, const at::Tensor& targets, double alpha, double gamma,
                       std::optional<double> normalizer) {
  return focal_contrastive_forward_cpu(logits, targets, alpha, gamma, normalizer, cpu_capability());
}

at::Tensor backward_cpu(const at::Tensor& grad, const at::Tensor& logits, const at::Tensor& targets, double alpha,
                        double gamma, std::optional<double> normalizer) {
  return focal_contrastive_backward_cpu(grad, logits, targets, alpha, gamma, normalizer, cpu_capability());
}

}  // namespace

at::Tensor focal_contrastive_forward_cpu(const at::Tensor& logits, const at::Tensor& targets, double alpha,
                                         double gamma, std::optional<double> normalizer, CpuCapability capability) {
  detail::check_focal_contrastive_args(logits, targets, alpha, gamma, normalizer);
  check_supported(capability);
  const at::Tensor x = logits.contiguous();
  const at::Tensor t = targets.contiguous();
  double total = 0.0;
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "focal_contrastive_loss_cpu", [&] {
    const auto in = rows_of<scalar_t>(x, t, alpha, gamma);
    total = capability == CpuCapability::kAvx2 ? AVX2::focal_contrastive_forward_sum(in)
                                               : DEFAULT::focal_contrastive_forward_sum(in);
  });
  if (normalizer) total /= *normalizer;
  return at::scalar_tensor(total, logits.options());
}

at::Tensor focal_contrastive_backward_cpu(const at::Tensor& grad, const at::Tensor& logits, const at::Tensor& targets,
                                          double alpha, double gamma, std::optional<double> normalizer,
                                          CpuCapability capability) {
  detail::check_focal_contrastive_args(logits, targets, alpha, gamma, normalizer);
  TORCH_CHECK(grad.numel() == 1, "focal_contrastive_loss_backward: grad must hold one value (the loss is a ",
              "scalar), got shape ", grad.sizes());
  check_supported(capability);
  const at::Tensor x = logits.contiguous();
  const at::Tensor t = targets.contiguous();
  at::Tensor out = at::empty_like(x, at::MemoryFormat::Contiguous);
  const double scale = grad.item<double>() / normalizer.value_or(1.0);
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "focal_contrastive_backward_cpu", [&] {
    const auto in = rows_of<scalar_t>(x, t, alpha, gamma);
    scalar_t* o = out.mutable_data_ptr<scalar_t>();
    if (capability == CpuCapability::kAvx2) {
      AVX2::focal_contrastive_backward(in, scale, o);
    } else {
      DEFAULT::focal_contrastive_backward(in, scale, o);
    }
  });
  return out;
}

}  // namespace loom::ops

TORCH_LIBRARY_IMPL(loom, CPU, m) {
  m.impl("focal_contrastive_loss", &loom::ops::forward_cpu);
  m.impl("focal_contrastive_loss_backward", &loom::ops::backward_cpu);
}

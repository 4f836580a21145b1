// loom::focal_contrastive_loss: schema, argument checks, autograd wiring and the public C++ entry point.
// Kernels: focal_contrastive_cpu.cpp (CPU) and cuda/focal_contrastive.cu (CUDA).
#include "ops/focal_contrastive.h"

#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/csrc/autograd/autograd_not_implemented_fallback.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/library.h>

#include <cmath>

namespace loom::ops {

namespace detail {

void check_focal_contrastive_args(const at::Tensor& logits, const at::Tensor& targets, double alpha, double gamma,
                                  std::optional<double> normalizer) {
  constexpr const char* op = "focal_contrastive_loss: ";
  TORCH_CHECK(logits.defined() && targets.defined(), op, "logits and targets must be defined tensors");
  TORCH_CHECK(logits.dim() == 2, op, "logits must be 2-D [N, C], got shape ", logits.sizes());
  const auto st = logits.scalar_type();
  TORCH_CHECK(st == at::kFloat || st == at::kDouble || st == at::kHalf || st == at::kBFloat16, op,
              "logits must be float32, float64, float16 or bfloat16, got ", st);
  TORCH_CHECK(targets.scalar_type() == at::kLong, op, "targets must be int64 class indices, got ",
              targets.scalar_type());
  TORCH_CHECK(targets.dim() == 1 && targets.size(0) == logits.size(0), op,
              "targets must be 1-D with one entry per row of logits (N = ", logits.size(0), "), got shape ",
              targets.sizes());
  TORCH_CHECK(targets.device() == logits.device(), op, "logits and targets must be on the same device, got ",
              logits.device(), " and ", targets.device());
  TORCH_CHECK(alpha >= 0.0 && alpha <= 1.0, op, "alpha must be in [0, 1], got ", alpha);
  TORCH_CHECK(gamma >= 0.0 && std::isfinite(gamma), op, "gamma must be finite and >= 0, got ", gamma);
  TORCH_CHECK(!normalizer || (*normalizer > 0.0 && std::isfinite(*normalizer)), op,
              "normalizer must be finite and > 0 when given, got ", normalizer.value_or(0.0));
  if (targets.is_cpu()) {
    const at::Tensor t = targets.contiguous();
    const int64_t* p = t.data_ptr<int64_t>();
    const int64_t C = logits.size(1);
    for (int64_t i = 0; i < t.numel(); ++i) {
      TORCH_CHECK(p[i] >= 0 && p[i] < C, op, "targets[", i, "] = ", p[i], " is out of range [0, ", C,
                  ") for logits with C = ", C, " columns");
    }
  }
}

}  // namespace detail

namespace {

using Signature = at::Tensor(const at::Tensor&, const at::Tensor&, double, double, std::optional<double>);
using BackwardSignature = at::Tensor(const at::Tensor&, const at::Tensor&, const at::Tensor&, double, double,
                                     std::optional<double>);

const c10::TypedOperatorHandle<Signature>& forward_op() {
  static const auto op =
      c10::Dispatcher::singleton().findSchemaOrThrow("loom::focal_contrastive_loss", "").typed<Signature>();
  return op;
}

const c10::TypedOperatorHandle<BackwardSignature>& backward_op() {
  static const auto op = c10::Dispatcher::singleton()
                             .findSchemaOrThrow("loom::focal_contrastive_loss_backward", "")
                             .typed<BackwardSignature>();
  return op;
}

// Forward and backward both go back through the dispatcher, so the device kernels (CPU or CUDA) are
// picked by the tensors' dispatch keys below Autograd.
struct FocalContrastiveFunction : torch::autograd::Function<FocalContrastiveFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& logits, const at::Tensor& targets,
                            double alpha, double gamma, std::optional<double> normalizer) {
    at::AutoDispatchBelowADInplaceOrView guard;
    ctx->save_for_backward({logits, targets});
    ctx->saved_data["alpha"] = alpha;
    ctx->saved_data["gamma"] = gamma;
    ctx->saved_data["normalizer"] = normalizer;
    return forward_op().call(logits, targets, alpha, gamma, normalizer);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor grad_logits =
        backward_op().call(grads[0], saved[0], saved[1], ctx->saved_data["alpha"].toDouble(),
                           ctx->saved_data["gamma"].toDouble(), ctx->saved_data["normalizer"].toOptional<double>());
    return {grad_logits, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

at::Tensor focal_contrastive_loss_autograd(const at::Tensor& logits, const at::Tensor& targets, double alpha,
                                           double gamma, std::optional<double> normalizer) {
  return FocalContrastiveFunction::apply(logits, targets, alpha, gamma, normalizer);
}

}  // namespace

at::Tensor focal_contrastive_loss(const at::Tensor& logits, const at::Tensor& targets, double alpha, double gamma,
                                  std::optional<double> normalizer) {
  return forward_op().call(logits, targets, alpha, gamma, normalizer);
}

}  // namespace loom::ops

// A fragment rather than TORCH_LIBRARY: every op file of the loom namespace can add its own schemas
// without one of them having to own the namespace.
TORCH_LIBRARY_FRAGMENT(loom, m) {
  m.def(
      "focal_contrastive_loss(Tensor logits, Tensor targets, float alpha=0.5, float gamma=1.0, "
      "float? normalizer=None) -> Tensor");
  m.def(
      "focal_contrastive_loss_backward(Tensor grad, Tensor logits, Tensor targets, float alpha, float gamma, "
      "float? normalizer) -> Tensor");
}

TORCH_LIBRARY_IMPL(loom, Autograd, m) {
  m.impl("focal_contrastive_loss", &loom::ops::focal_contrastive_loss_autograd);
  // The backward kernels are not differentiable: double backward raises instead of silently being wrong.
  m.impl("focal_contrastive_loss_backward", torch::autograd::autogradNotImplementedFallback());
}

// loom::perceptual_distance: schema, argument checks, autograd wiring and the public C++ entry point.
// Kernels: perceptual_distance_cpu.cpp (CPU) and cuda/perceptual_distance.cu (CUDA).
#include "ops/perceptual_distance.h"

#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/csrc/autograd/autograd_not_implemented_fallback.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/library.h>

#include <array>
#include <cmath>
#include <tuple>

namespace loom::ops {

namespace detail {

void check_perceptual_distance_args(const at::Tensor& f0, const at::Tensor& f1, const at::Tensor& weight, double eps) {
  constexpr const char* op = "perceptual_distance: ";
  TORCH_CHECK(f0.defined() && f1.defined() && weight.defined(), op, "f0, f1 and weight must be defined tensors");
  TORCH_CHECK(f0.dim() == 4, op, "f0 must be 4-D [N, C, H, W], got shape ", f0.sizes());
  TORCH_CHECK(f1.sizes() == f0.sizes(), op, "f1 must have the shape of f0, ", f0.sizes(), ", got ", f1.sizes());
  const auto st = f0.scalar_type();
  TORCH_CHECK(st == at::kFloat || st == at::kDouble || st == at::kHalf || st == at::kBFloat16, op,
              "features must be float32, float64, float16 or bfloat16, got ", st);
  TORCH_CHECK(f1.scalar_type() == st, op, "f0 and f1 must have the same dtype, got ", st, " and ", f1.scalar_type());
  TORCH_CHECK(at::isFloatingType(weight.scalar_type()), op, "weight must be floating point, got ",
              weight.scalar_type());
  TORCH_CHECK(weight.dim() == 1 && weight.size(0) == f0.size(1), op, "weight must be 1-D [C] = [", f0.size(1),
              "] (one entry per channel), got shape ", weight.sizes());
  TORCH_CHECK(f1.device() == f0.device() && weight.device() == f0.device(), op,
              "f0, f1 and weight must be on the same device, got ", f0.device(), ", ", f1.device(), " and ",
              weight.device());
  TORCH_CHECK(f0.size(2) * f0.size(3) > 0, op, "the spatial size H x W must not be empty, got shape ", f0.sizes());
  TORCH_CHECK(std::isfinite(eps) && eps >= 0.0, op, "eps must be finite and >= 0, got ", eps);
}

}  // namespace detail

namespace {

using Signature = at::Tensor(const at::Tensor&, const at::Tensor&, const at::Tensor&, double);
using Gradients = std::tuple<at::Tensor, at::Tensor, at::Tensor>;
using BackwardSignature = Gradients(const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&, double,
                                    std::array<bool, 3>);

const c10::TypedOperatorHandle<Signature>& forward_op() {
  static const auto op =
      c10::Dispatcher::singleton().findSchemaOrThrow("loom::perceptual_distance", "").typed<Signature>();
  return op;
}

const c10::TypedOperatorHandle<BackwardSignature>& backward_op() {
  static const auto op = c10::Dispatcher::singleton()
                             .findSchemaOrThrow("loom::perceptual_distance_backward", "")
                             .typed<BackwardSignature>();
  return op;
}

// Forward and backward both go back through the dispatcher, so the device kernels (CPU or CUDA) are
// picked by the tensors' dispatch keys below Autograd. The backward computes only the gradients that
// are needed: a detached target (the distillation case) skips ∂/∂f1 and its dot products.
struct PerceptualDistanceFunction : torch::autograd::Function<PerceptualDistanceFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& f0, const at::Tensor& f1,
                            const at::Tensor& weight, double eps) {
    at::AutoDispatchBelowADInplaceOrView guard;
    ctx->save_for_backward({f0, f1, weight});
    ctx->saved_data["eps"] = eps;
    return forward_op().call(f0, f1, weight, eps);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const std::array<bool, 3> needed{ctx->needs_input_grad(0), ctx->needs_input_grad(1), ctx->needs_input_grad(2)};
    auto [grad_f0, grad_f1, grad_weight] =
        backward_op().call(grads[0], saved[0], saved[1], saved[2], ctx->saved_data["eps"].toDouble(), needed);
    return {grad_f0, grad_f1, grad_weight, at::Tensor()};
  }
};

at::Tensor perceptual_distance_autograd(const at::Tensor& f0, const at::Tensor& f1, const at::Tensor& weight,
                                        double eps) {
  return PerceptualDistanceFunction::apply(f0, f1, weight, eps);
}

}  // namespace

at::Tensor perceptual_distance(const at::Tensor& f0, const at::Tensor& f1, const at::Tensor& weight, double eps) {
  return forward_op().call(f0, f1, weight, eps);
}

}  // namespace loom::ops

TORCH_LIBRARY_FRAGMENT(loom, m) {
  m.def("perceptual_distance(Tensor f0, Tensor f1, Tensor weight, float eps=1e-10) -> Tensor");
  // output_mask: which of (f0, f1, weight) need a gradient; the others come back undefined.
  m.def(
      "perceptual_distance_backward(Tensor grad, Tensor f0, Tensor f1, Tensor weight, float eps, "
      "bool[3] output_mask) -> (Tensor, Tensor, Tensor)");
}

TORCH_LIBRARY_IMPL(loom, Autograd, m) {
  m.impl("perceptual_distance", &loom::ops::perceptual_distance_autograd);
  // The backward kernels are not differentiable: double backward raises instead of silently being wrong.
  m.impl("perceptual_distance_backward", torch::autograd::autogradNotImplementedFallback());
}

// CPU entry points of loom::perceptual_distance: argument checks, layout, dtype dispatch, and the choice
// between the kernel's builds (perceptual_distance_cpu_kernel.cpp) by CPU capability.
#include "ops/perceptual_distance_cpu.h"

#include <ATen/ATen.h>
#include <torch/library.h>

#include "ops/perceptual_distance.h"

namespace loom::ops {
namespace {

void check_supported(CpuCapability capability) {
  TORCH_CHECK(cpu_supports(capability), "perceptual_distance: this CPU lacks the instructions of the requested ",
              "kernel build (AVX2, FMA, F16C)");
}

// The kernels' operands: contiguous features in float32 or float64 (float16 and bfloat16 are computed in
// float32 from converted copies) and the weight in the same type. No copy in the common case.
struct Operands {
  at::Tensor f0, f1, weight;
  Operands(const at::Tensor& a, const at::Tensor& b, const at::Tensor& w) {
    const auto type = a.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
    f0 = a.to(type).contiguous();
    f1 = b.to(type).contiguous();
    weight = w.to(type).contiguous();
  }
  template <typename scalar_t>
  PerceptualFeatures<scalar_t> features(double eps) const {
    return {f0.const_data_ptr<scalar_t>(),
            f1.const_data_ptr<scalar_t>(),
            weight.const_data_ptr<scalar_t>(),
            f0.size(0),
            f0.size(1),
            f0.size(2) * f0.size(3),
            eps};
  }
};

at::Tensor cast(const at::Tensor& t, at::ScalarType type) { return t.defined() ? t.to(type) : t; }

at::Tensor forward_cpu(const at::Tensor& f0, const at::Tensor& f1, const at::Tensor& weight, double eps) {
  return perceptual_distance_forward_cpu(f0, f1, weight, eps, cpu_capability());
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> backward_cpu(const at::Tensor& grad, const at::Tensor& f0,
                                                            const at::Tensor& f1, const at::Tensor& weight, double eps,
                                                            std::array<bool, 3> output_mask) {
  return perceptual_distance_backward_cpu(grad, f0, f1, weight, eps, output_mask, cpu_capability());
}

}  // namespace

at::Tensor perceptual_distance_forward_cpu(const at::Tensor& f0, const at::Tensor& f1, const at::Tensor& weight,
                                           double eps, CpuCapability capability) {
  detail::check_perceptual_distance_args(f0, f1, weight, eps);
  check_supported(capability);
  const Operands x(f0, f1, weight);
  at::Tensor distance = at::empty({f0.size(0)}, f0.options().dtype(at::kDouble));
  AT_DISPATCH_FLOATING_TYPES(x.f0.scalar_type(), "perceptual_distance_cpu", [&] {
    const auto in = x.features<scalar_t>(eps);
    double* d = distance.mutable_data_ptr<double>();
    if (capability == CpuCapability::kAvx2) {
      AVX2::perceptual_distance_forward(in, d);
    } else {
      DEFAULT::perceptual_distance_forward(in, d);
    }
  });
  return distance.to(f0.scalar_type());
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> perceptual_distance_backward_cpu(
    const at::Tensor& grad, const at::Tensor& f0, const at::Tensor& f1, const at::Tensor& weight, double eps,
    std::array<bool, 3> output_mask, CpuCapability capability) {
  detail::check_perceptual_distance_args(f0, f1, weight, eps);
  TORCH_CHECK(grad.defined() && grad.dim() == 1 && grad.size(0) == f0.size(0),
              "perceptual_distance_backward: grad must be 1-D [N] = [", f0.size(0), "], got ",
              grad.defined() ? grad.sizes() : at::IntArrayRef{});
  check_supported(capability);
  const Operands x(f0, f1, weight);
  const at::Tensor g = grad.to(at::kCPU, at::kDouble).contiguous();
  at::Tensor grad_f0 = output_mask[0] ? at::empty_like(x.f0) : at::Tensor();
  at::Tensor grad_f1 = output_mask[1] ? at::empty_like(x.f1) : at::Tensor();
  at::Tensor grad_weight = output_mask[2] ? at::zeros({f0.size(1)}, g.options()) : at::Tensor();
  AT_DISPATCH_FLOATING_TYPES(x.f0.scalar_type(), "perceptual_distance_backward_cpu", [&] {
    const auto in = x.features<scalar_t>(eps);
    const PerceptualGradients<scalar_t> out{g.const_data_ptr<double>(),
                                            grad_f0.defined() ? grad_f0.mutable_data_ptr<scalar_t>() : nullptr,
                                            grad_f1.defined() ? grad_f1.mutable_data_ptr<scalar_t>() : nullptr,
                                            grad_weight.defined() ? grad_weight.mutable_data_ptr<double>() : nullptr};
    if (capability == CpuCapability::kAvx2) {
      AVX2::perceptual_distance_backward(in, out);
    } else {
      DEFAULT::perceptual_distance_backward(in, out);
    }
  });
  return {cast(grad_f0, f0.scalar_type()), cast(grad_f1, f1.scalar_type()), cast(grad_weight, weight.scalar_type())};
}

}  // namespace loom::ops

TORCH_LIBRARY_IMPL(loom, CPU, m) {
  m.impl("perceptual_distance", &loom::ops::forward_cpu);
  m.impl("perceptual_distance_backward", &loom::ops::backward_cpu);
}

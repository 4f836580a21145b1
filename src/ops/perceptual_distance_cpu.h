// Internal: the CPU kernels of loom::perceptual_distance, one build per CPU capability
// (perceptual_distance_cpu_kernel.cpp), and the op's CPU entry points with the build made explicit so
// that tests can run each one.
#pragma once

#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <tuple>

#include "ops/cpu_capability.h"

namespace loom::ops {

// Contiguous features [batch, channels, pixels] (pixels = H·W) and the channel weights, all of the compute
// type (float or double). Raw pointers keep tensor code out of the per-capability builds, whose inline
// functions could otherwise be shared with (and picked for) the rest.
template <typename scalar_t>
struct PerceptualFeatures {
  const scalar_t* f0;
  const scalar_t* f1;
  const scalar_t* weight;
  int64_t batch, channels, pixels;
  double eps;
};

// What the backward kernel writes: a null pointer skips that gradient and the work only it needs.
template <typename scalar_t>
struct PerceptualGradients {
  const double* grad;  // [batch], the incoming gradient of d
  scalar_t* f0;        // [batch, channels, pixels]
  scalar_t* f1;        // [batch, channels, pixels]
  double* weight;      // [channels], zero on entry
};

// Explicitly instantiated for float and double in each build. The forward writes d [batch].
namespace DEFAULT {
template <typename scalar_t>
void perceptual_distance_forward(const PerceptualFeatures<scalar_t>& in, double* distance);
template <typename scalar_t>
void perceptual_distance_backward(const PerceptualFeatures<scalar_t>& in, const PerceptualGradients<scalar_t>& out);
// How many distinct threads at::parallel_for over `tasks` items runs on in this build: 1 if the kernels
// were compiled without OpenMP (the tests check the build, see CMakeLists.txt).
int parallel_for_threads(int64_t tasks);
}  // namespace DEFAULT
namespace AVX2 {
template <typename scalar_t>
void perceptual_distance_forward(const PerceptualFeatures<scalar_t>& in, double* distance);
template <typename scalar_t>
void perceptual_distance_backward(const PerceptualFeatures<scalar_t>& in, const PerceptualGradients<scalar_t>& out);
int parallel_for_threads(int64_t tasks);
}  // namespace AVX2

// The CPU kernels registered for the op run these with cpu_capability(). `capability` must be supported.
// output_mask: which of (f0, f1, weight) need a gradient; the others come back undefined.
at::Tensor perceptual_distance_forward_cpu(const at::Tensor& f0, const at::Tensor& f1, const at::Tensor& weight,
                                           double eps, CpuCapability capability);
std::tuple<at::Tensor, at::Tensor, at::Tensor> perceptual_distance_backward_cpu(
    const at::Tensor& grad, const at::Tensor& f0, const at::Tensor& f1, const at::Tensor& weight, double eps,
    std::array<bool, 3> output_mask, CpuCapability capability);

}  // namespace loom::ops

// CUDA kernels of loom::focal_contrastive_loss. The math and its gradient are derived in
// src/ops/focal_contrastive_cpu.cpp: with z = x (negative) or -x (positive), e = exp(-|z|),
//   loss = w * exp(-gamma * softplus(-z)) * softplus(z),
//   d loss / dz = w * sigmoid(z)^gamma * (sigmoid(z) + gamma * sigmoid(-z) * softplus(z)).
// The forward sum is deterministic: a fixed grid (from the shape alone) writes one partial per block,
// then a single block adds the partials in a fixed order.
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/core/Tensor.h>
#include <ATen/cuda/CUDAContext.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <ATen/ops/zeros.h>
#include <ATen/ops/zeros_like.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/macros/Macros.h>
#include <torch/library.h>

#include <algorithm>

#include "ops/focal_contrastive.h"

namespace loom::ops {
namespace {

constexpr int kThreads = 256;
constexpr int64_t kMaxForwardBlocks = 1024;
constexpr int64_t kMaxBackwardBlocks = 65535;

__device__ __forceinline__ float dexp(float v) { return expf(v); }
__device__ __forceinline__ double dexp(double v) { return exp(v); }
__device__ __forceinline__ float dlog1p(float v) { return log1pf(v); }
__device__ __forceinline__ double dlog1p(double v) { return log1p(v); }
__device__ __forceinline__ float dabs(float v) { return fabsf(v); }
__device__ __forceinline__ double dabs(double v) { return fabs(v); }

template <typename T>
struct Params {
  T gamma, w_pos, w_neg;
};

template <typename T>
__device__ __forceinline__ T entry_loss(T x, bool pos, const Params<T>& p) {
  const T z = pos ? -x : x;
  const T l = dlog1p(dexp(-dabs(z)));
  const T sp = (z > T(0) ? z : T(0)) + l;
  const T spn = (z < T(0) ? -z : T(0)) + l;
  return (pos ? p.w_pos : p.w_neg) * dexp(-p.gamma * spn) * sp;
}

template <typename T>
__device__ __forceinline__ T entry_grad(T x, bool pos, const Params<T>& p) {
  const T z = pos ? -x : x;
  const T e = dexp(-dabs(z));
  const T l = dlog1p(e);
  const T sp = (z > T(0) ? z : T(0)) + l;
  const T spn = (z < T(0) ? -z : T(0)) + l;
  const T r = T(1) / (T(1) + e);
  const T sig_z = z >= T(0) ? r : e * r;
  const T sig_mz = z >= T(0) ? e * r : r;
  const T dz = (pos ? p.w_pos : p.w_neg) * dexp(-p.gamma * spn) * (sig_z + p.gamma * sig_mz * sp);
  return pos ? -dz : dz;
}

// Sum over the block (blockDim.x == kThreads) in a fixed tree order; the result is valid in thread 0.
template <typename T>
__device__ T block_sum(T v) {
  __shared__ T buf[kThreads];
  buf[threadIdx.x] = v;
  __syncthreads();
  for (int s = kThreads / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) buf[threadIdx.x] += buf[threadIdx.x + s];
    __syncthreads();
  }
  return buf[0];
}

template <typename scalar_t, typename T>
__global__ void __launch_bounds__(kThreads)
    forward_partials(const scalar_t* __restrict__ x, const int64_t* __restrict__ targets, int64_t total, int64_t C,
                     Params<T> p, T* __restrict__ partials) {
  T sum = T(0);
  for (int64_t i = blockIdx.x * int64_t(kThreads) + threadIdx.x; i < total; i += int64_t(gridDim.x) * kThreads) {
    const int64_t row = i / C;
    const int64_t t = targets[row];
    CUDA_KERNEL_ASSERT(t >= 0 && t < C && "focal_contrastive_loss: target out of range [0, C)");
    sum += entry_loss(static_cast<T>(x[i]), i - row * C == t, p);
  }
  sum = block_sum(sum);
  if (threadIdx.x == 0) partials[blockIdx.x] = sum;
}

template <typename scalar_t, typename T>
__global__ void __launch_bounds__(kThreads)
    forward_final(const T* __restrict__ partials, int64_t n, T normalizer, scalar_t* __restrict__ out) {
  T sum = T(0);
  for (int64_t i = threadIdx.x; i < n; i += kThreads) sum += partials[i];
  sum = block_sum(sum);
  if (threadIdx.x == 0) *out = static_cast<scalar_t>(sum / normalizer);
}

template <typename scalar_t, typename T>
__global__ void __launch_bounds__(kThreads)
    backward_entries(const scalar_t* __restrict__ grad, const scalar_t* __restrict__ x,
                     const int64_t* __restrict__ targets, int64_t total, int64_t C, Params<T> p, T normalizer,
                     scalar_t* __restrict__ dx) {
  const T scale = static_cast<T>(*grad) / normalizer;
  for (int64_t i = blockIdx.x * int64_t(kThreads) + threadIdx.x; i < total; i += int64_t(gridDim.x) * kThreads) {
    const int64_t row = i / C;
    const int64_t t = targets[row];
    CUDA_KERNEL_ASSERT(t >= 0 && t < C && "focal_contrastive_loss: target out of range [0, C)");
    dx[i] = static_cast<scalar_t>(entry_grad(static_cast<T>(x[i]), i - row * C == t, p) * scale);
  }
}

template <typename T>
Params<T> make_params(double alpha, double gamma) {
  return {static_cast<T>(gamma), static_cast<T>(2.0 * alpha), static_cast<T>(2.0 * (1.0 - alpha))};
}

int64_t blocks_for(int64_t total, int64_t max_blocks) {
  return std::min<int64_t>((total + kThreads - 1) / kThreads, max_blocks);
}

at::Tensor forward_cuda(const at::Tensor& logits, const at::Tensor& targets, double alpha, double gamma,
                        std::optional<double> normalizer) {
  detail::check_focal_contrastive_args(logits, targets, alpha, gamma, normalizer);
  const c10::cuda::CUDAGuard guard(logits.device());
  const at::Tensor x = logits.contiguous();
  const at::Tensor t = targets.contiguous();
  const int64_t total = x.numel();
  if (total == 0) return at::zeros({}, logits.options());
  at::Tensor out = at::empty({}, logits.options());
  const int64_t blocks = blocks_for(total, kMaxForwardBlocks);
  const cudaStream_t stream = at::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "focal_contrastive_loss_cuda", [&] {
    using T = at::opmath_type<scalar_t>;
    at::Tensor partials = at::empty({blocks}, x.options().dtype(c10::CppTypeToScalarType<T>::value));
    forward_partials<scalar_t, T><<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(
        x.const_data_ptr<scalar_t>(), t.const_data_ptr<int64_t>(), total, x.size(1), make_params<T>(alpha, gamma),
        partials.mutable_data_ptr<T>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    forward_final<scalar_t, T><<<1, kThreads, 0, stream>>>(partials.const_data_ptr<T>(), blocks,
                                                           static_cast<T>(normalizer.value_or(1.0)),
                                                           out.mutable_data_ptr<scalar_t>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return out;
}

at::Tensor backward_cuda(const at::Tensor& grad, const at::Tensor& logits, const at::Tensor& targets, double alpha,
                         double gamma, std::optional<double> normalizer) {
  detail::check_focal_contrastive_args(logits, targets, alpha, gamma, normalizer);
  TORCH_CHECK(grad.numel() == 1, "focal_contrastive_loss_backward: grad must hold one value (the loss is a ",
              "scalar), got shape ", grad.sizes());
  const c10::cuda::CUDAGuard guard(logits.device());
  const at::Tensor x = logits.contiguous();
  const at::Tensor t = targets.contiguous();
  const int64_t total = x.numel();
  if (total == 0) return at::zeros_like(x, at::MemoryFormat::Contiguous);
  const at::Tensor g = grad.to(x.device(), x.scalar_type()).contiguous();  // a CPU scalar grad is fine too
  at::Tensor out = at::empty_like(x, at::MemoryFormat::Contiguous);
  const cudaStream_t stream = at::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "focal_contrastive_backward_cuda", [&] {
    using T = at::opmath_type<scalar_t>;
    backward_entries<scalar_t, T>
        <<<static_cast<unsigned>(blocks_for(total, kMaxBackwardBlocks)), kThreads, 0, stream>>>(
            g.const_data_ptr<scalar_t>(), x.const_data_ptr<scalar_t>(), t.const_data_ptr<int64_t>(), total, x.size(1),
            make_params<T>(alpha, gamma), static_cast<T>(normalizer.value_or(1.0)), out.mutable_data_ptr<scalar_t>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return out;
}

}  // namespace
}  // namespace loom::ops

TORCH_LIBRARY_IMPL(loom, CUDA, m) {
  m.impl("focal_contrastive_loss", &loom::ops::forward_cuda);
  m.impl("focal_contrastive_loss_backward", &loom::ops::backward_cuda);
}

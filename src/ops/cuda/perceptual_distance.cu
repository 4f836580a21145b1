// CUDA kernels of loom::perceptual_distance; the passes and the gradient are those of
// src/ops/perceptual_distance_cpu_kernel.cpp. A block of 32 × 8 threads walks tiles of 32 pixels of one
// sample: threadIdx.x is the pixel (a warp reads 32 consecutive pixels of a channel, coalesced),
// threadIdx.y the channels c ≡ y (mod 8). Per tile, pass 1 reduces ‖f0‖², ‖f1‖² over the 8 channel lanes
// in shared memory; pass 2 (forward) sums w_c (f0_c r0 − f1_c r1)², or (backward) the dots g·f0, g·f1
// and the weight's per-channel sums; pass 3 (backward) writes the gradients. The repeated reads of a
// tile come from L2. Sums are deterministic: a fixed grid (from the shape alone) writes one partial per
// block (and per block and channel for the weight), and a second kernel adds them in a fixed order.
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/core/Tensor.h>
#include <ATen/cuda/CUDAContext.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <ATen/ops/zeros.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include <algorithm>
#include <array>
#include <tuple>

#include "ops/perceptual_distance.h"

namespace loom::ops {
namespace {

constexpr int kPixelLanes = 32;
constexpr int kChannelLanes = 8;
constexpr int kThreads = kPixelLanes * kChannelLanes;
// About one wave of resident blocks on an H100/H200; blocks loop over the tiles of their sample.
constexpr int64_t kTargetBlocks = 1024;

__device__ __forceinline__ float dsqrt(float v) { return sqrtf(v); }
__device__ __forceinline__ double dsqrt(double v) { return sqrt(v); }

template <typename T>
__device__ __forceinline__ T warp_sum(T v) {
  for (int offset = kPixelLanes / 2; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

// Sum over the block in a fixed order; valid in thread (0, 0).
template <typename T>
__device__ T block_sum(T v) {
  __shared__ T warps[kChannelLanes];
  v = warp_sum(v);
  if (threadIdx.x == 0) warps[threadIdx.y] = v;
  __syncthreads();
  T sum = T(0);
  if (threadIdx.x == 0 && threadIdx.y == 0) {
    for (int w = 0; w < kChannelLanes; ++w) sum += warps[w];
  }
  return sum;
}

// The grid: blocks_per_sample blocks per sample, block b of a sample takes its tiles b, b + blocks, ...
struct Grid {
  int64_t tiles_per_sample, blocks_per_sample;
  Grid(int64_t batch, int64_t pixels) {
    tiles_per_sample = (pixels + kPixelLanes - 1) / kPixelLanes;
    const int64_t wanted = (kTargetBlocks + std::max<int64_t>(batch, 1) - 1) / std::max<int64_t>(batch, 1);
    blocks_per_sample = std::clamp<int64_t>(wanted, 1, tiles_per_sample);
  }
};

template <typename scalar_t, typename T>
struct Args {
  const scalar_t* f0;
  const scalar_t* f1;
  const T* weight;
  int64_t channels, pixels, tiles_per_sample, blocks_per_sample;
  T eps;
};

// Per-pixel values of the current tile shared by the block: the channel lanes' partial sums and, per
// pixel, inverse norms, norms and the backward's corrections.
template <typename T>
struct TileShared {
  T lanes[2][kChannelLanes][kPixelLanes];
  T r[2][kPixelLanes], norm[2][kPixelLanes], b[2][kPixelLanes];
};

// Adds the two channel-lane partials (v0, v1) of this thread's pixel over the lanes; the sums are
// returned to the threads of lane 0.
template <typename T>
__device__ void sum_channel_lanes(TileShared<T>& s, T v0, T v1, T& sum0, T& sum1) {
  s.lanes[0][threadIdx.y][threadIdx.x] = v0;
  s.lanes[1][threadIdx.y][threadIdx.x] = v1;
  __syncthreads();
  sum0 = T(0);
  sum1 = T(0);
  if (threadIdx.y == 0) {
    for (int k = 0; k < kChannelLanes; ++k) {
      sum0 += s.lanes[0][k][threadIdx.x];
      sum1 += s.lanes[1][k][threadIdx.x];
    }
  }
}

// Pass 1 for the pixel `p` of this thread (valid: p < pixels): s.r and s.norm for the tile, visible to all
// threads on return. Pixels past the end get r = 0, so they add nothing later.
template <typename scalar_t, typename T>
__device__ void tile_norms(const Args<scalar_t, T>& a, const scalar_t* f0, const scalar_t* f1, int64_t p, bool valid,
                           TileShared<T>& s) {
  T sq0 = T(0), sq1 = T(0);
  if (valid) {
    for (int64_t c = threadIdx.y; c < a.channels; c += kChannelLanes) {
      const T x = static_cast<T>(f0[c * a.pixels + p]), y = static_cast<T>(f1[c * a.pixels + p]);
      sq0 += x * x;
      sq1 += y * y;
    }
  }
  T sum0, sum1;
  sum_channel_lanes(s, sq0, sq1, sum0, sum1);
  if (threadIdx.y == 0) {
    const T n0 = dsqrt(sum0), n1 = dsqrt(sum1);
    s.norm[0][threadIdx.x] = n0;
    s.norm[1][threadIdx.x] = n1;
    s.r[0][threadIdx.x] = valid ? T(1) / (n0 + a.eps) : T(0);
    s.r[1][threadIdx.x] = valid ? T(1) / (n1 + a.eps) : T(0);
  }
  __syncthreads();
}

template <typename scalar_t, typename T>
__global__ void __launch_bounds__(kThreads) forward_partials(Args<scalar_t, T> a, T* __restrict__ partials) {
  __shared__ TileShared<T> s;
  const int64_t n = blockIdx.x / a.blocks_per_sample;
  const scalar_t* f0 = a.f0 + n * a.channels * a.pixels;
  const scalar_t* f1 = a.f1 + n * a.channels * a.pixels;
  T sum = T(0);
  for (int64_t tile = blockIdx.x % a.blocks_per_sample; tile < a.tiles_per_sample; tile += a.blocks_per_sample) {
    const int64_t p = tile * kPixelLanes + threadIdx.x;
    const bool valid = p < a.pixels;
    tile_norms(a, f0, f1, p, valid, s);
    const T r0 = s.r[0][threadIdx.x], r1 = s.r[1][threadIdx.x];
    if (valid) {
      for (int64_t c = threadIdx.y; c < a.channels; c += kChannelLanes) {
        const T d = static_cast<T>(f0[c * a.pixels + p]) * r0 - static_cast<T>(f1[c * a.pixels + p]) * r1;
        sum += a.weight[c] * d * d;
      }
    }
    __syncthreads();  // s is rewritten by the next tile
  }
  sum = block_sum(sum);
  if (threadIdx.x == 0 && threadIdx.y == 0) partials[blockIdx.x] = sum;
}

template <typename scalar_t, typename T>
__global__ void __launch_bounds__(kThreads) forward_final(const T* __restrict__ partials, int64_t blocks_per_sample,
                                                          int64_t pixels, scalar_t* __restrict__ out) {
  T sum = T(0);
  const int t = threadIdx.y * kPixelLanes + threadIdx.x;
  for (int64_t i = t; i < blocks_per_sample; i += kThreads) sum += partials[blockIdx.x * blocks_per_sample + i];
  sum = block_sum(sum);
  if (t == 0) out[blockIdx.x] = static_cast<scalar_t>(sum / static_cast<T>(pixels));
}

// grad_f0 / grad_f1: null to skip; weight_partials [blocks, C] (zeros on entry) or null to skip.
template <typename scalar_t, typename T>
__global__ void __launch_bounds__(kThreads)
    backward_tiles(Args<scalar_t, T> a, const T* __restrict__ grad, scalar_t* __restrict__ grad_f0,
                   scalar_t* __restrict__ grad_f1, T* __restrict__ weight_partials) {
  __shared__ TileShared<T> s;
  const int64_t n = blockIdx.x / a.blocks_per_sample;
  const int64_t base = n * a.channels * a.pixels;
  const scalar_t* f0 = a.f0 + base;
  const scalar_t* f1 = a.f1 + base;
  const T k = T(2) * grad[n] / static_cast<T>(a.pixels), weight_scale = grad[n] / static_cast<T>(a.pixels);
  T* weight_row = weight_partials != nullptr ? weight_partials + blockIdx.x * a.channels : nullptr;
  for (int64_t tile = blockIdx.x % a.blocks_per_sample; tile < a.tiles_per_sample; tile += a.blocks_per_sample) {
    const int64_t p = tile * kPixelLanes + threadIdx.x;
    const bool valid = p < a.pixels;
    tile_norms(a, f0, f1, p, valid, s);
    const T r0 = s.r[0][threadIdx.x], r1 = s.r[1][threadIdx.x];
    // Pass 2. The channel loop is uniform over a warp (one channel lane), as warp_sum needs.
    T dot0 = T(0), dot1 = T(0);
    for (int64_t c = threadIdx.y; c < a.channels; c += kChannelLanes) {
      const T x = valid ? static_cast<T>(f0[c * a.pixels + p]) : T(0);
      const T y = valid ? static_cast<T>(f1[c * a.pixels + p]) : T(0);
      const T d = x * r0 - y * r1, g = k * a.weight[c] * d;
      dot0 += g * x;
      dot1 += g * y;
      if (weight_row != nullptr) {
        const T squares = warp_sum(d * d);
        if (threadIdx.x == 0) weight_row[c] += weight_scale * squares;  // this warp alone owns channel c
      }
    }
    if (grad_f0 != nullptr || grad_f1 != nullptr) {
      T sum0, sum1;
      sum_channel_lanes(s, dot0, dot1, sum0, sum1);
      if (threadIdx.y == 0) {
        const T n0 = s.norm[0][threadIdx.x], n1 = s.norm[1][threadIdx.x];
        s.b[0][threadIdx.x] = n0 > T(0) ? sum0 * r0 * r0 / n0 : T(0);
        s.b[1][threadIdx.x] = n1 > T(0) ? sum1 * r1 * r1 / n1 : T(0);
      }
      __syncthreads();
      const T b0 = s.b[0][threadIdx.x], b1 = s.b[1][threadIdx.x];
      if (valid) {
        // Pass 3.
        for (int64_t c = threadIdx.y; c < a.channels; c += kChannelLanes) {
          const int64_t i = c * a.pixels + p;
          const T x = static_cast<T>(f0[i]), y = static_cast<T>(f1[i]);
          const T g = k * a.weight[c] * (x * r0 - y * r1);
          if (grad_f0 != nullptr) grad_f0[base + i] = static_cast<scalar_t>(g * r0 - x * b0);
          if (grad_f1 != nullptr) grad_f1[base + i] = static_cast<scalar_t>(y * b1 - g * r1);
        }
      }
    }
    __syncthreads();  // s is rewritten by the next tile
  }
}

// grad_weight[c] = Σ_blocks weight_partials[block, c], in block order.
template <typename T>
__global__ void __launch_bounds__(kThreads)
    weight_final(const T* __restrict__ weight_partials, int64_t blocks, int64_t channels, T* __restrict__ out) {
  const int64_t c = blockIdx.x * int64_t(kThreads) + threadIdx.y * kPixelLanes + threadIdx.x;
  if (c >= channels) return;
  T sum = T(0);
  for (int64_t b = 0; b < blocks; ++b) sum += weight_partials[b * channels + c];
  out[c] = sum;
}

template <typename scalar_t, typename T>
Args<scalar_t, T> args_of(const at::Tensor& f0, const at::Tensor& f1, const at::Tensor& weight, const Grid& grid,
                          double eps) {
  return {
      f0.const_data_ptr<scalar_t>(), f1.const_data_ptr<scalar_t>(), weight.const_data_ptr<T>(), f0.size(1),
      f0.size(2) * f0.size(3),       grid.tiles_per_sample,         grid.blocks_per_sample,     static_cast<T>(eps)};
}

at::ScalarType compute_type(at::ScalarType features) { return features == at::kDouble ? at::kDouble : at::kFloat; }

const dim3 kBlock(kPixelLanes, kChannelLanes);

at::Tensor forward_cuda(const at::Tensor& f0, const at::Tensor& f1, const at::Tensor& weight, double eps) {
  detail::check_perceptual_distance_args(f0, f1, weight, eps);
  const c10::cuda::CUDAGuard guard(f0.device());
  const int64_t N = f0.size(0);
  at::Tensor out = at::empty({N}, f0.options());
  if (N == 0) return out;
  const at::Tensor x0 = f0.contiguous(), x1 = f1.contiguous();
  const at::Tensor w = weight.to(compute_type(f0.scalar_type())).contiguous();
  const Grid grid(N, f0.size(2) * f0.size(3));
  const int64_t blocks = N * grid.blocks_per_sample;
  const cudaStream_t stream = at::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x0.scalar_type(), "perceptual_distance_cuda", [&] {
    using T = at::opmath_type<scalar_t>;
    at::Tensor partials = at::empty({blocks}, w.options());
    forward_partials<scalar_t, T><<<static_cast<unsigned>(blocks), kBlock, 0, stream>>>(
        args_of<scalar_t, T>(x0, x1, w, grid, eps), partials.mutable_data_ptr<T>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    forward_final<scalar_t, T>
        <<<static_cast<unsigned>(N), kBlock, 0, stream>>>(partials.const_data_ptr<T>(), grid.blocks_per_sample,
                                                          x0.size(2) * x0.size(3), out.mutable_data_ptr<scalar_t>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return out;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> backward_cuda(const at::Tensor& grad, const at::Tensor& f0,
                                                             const at::Tensor& f1, const at::Tensor& weight, double eps,
                                                             std::array<bool, 3> output_mask) {
  detail::check_perceptual_distance_args(f0, f1, weight, eps);
  TORCH_CHECK(grad.defined() && grad.dim() == 1 && grad.size(0) == f0.size(0),
              "perceptual_distance_backward: grad must be 1-D [N] = [", f0.size(0), "], got ",
              grad.defined() ? grad.sizes() : at::IntArrayRef{});
  const c10::cuda::CUDAGuard guard(f0.device());
  const at::ScalarType type = compute_type(f0.scalar_type());
  const at::Tensor x0 = f0.contiguous(), x1 = f1.contiguous();
  const at::Tensor w = weight.to(type).contiguous();
  const at::Tensor g = grad.to(f0.device(), type).contiguous();
  at::Tensor grad_f0 = output_mask[0] ? at::empty_like(x0, at::MemoryFormat::Contiguous) : at::Tensor();
  at::Tensor grad_f1 = output_mask[1] ? at::empty_like(x1, at::MemoryFormat::Contiguous) : at::Tensor();
  at::Tensor grad_weight = output_mask[2] ? at::zeros({f0.size(1)}, w.options()) : at::Tensor();
  const int64_t N = f0.size(0), C = f0.size(1);
  if (N == 0 || !(output_mask[0] || output_mask[1] || output_mask[2])) {
    return {grad_f0, grad_f1, grad_weight.defined() ? grad_weight.to(weight.scalar_type()) : grad_weight};
  }
  const Grid grid(N, f0.size(2) * f0.size(3));
  const int64_t blocks = N * grid.blocks_per_sample;
  at::Tensor weight_partials = output_mask[2] ? at::zeros({blocks, C}, w.options()) : at::Tensor();
  const cudaStream_t stream = at::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x0.scalar_type(), "perceptual_distance_backward_cuda", [&] {
    using T = at::opmath_type<scalar_t>;
    backward_tiles<scalar_t, T><<<static_cast<unsigned>(blocks), kBlock, 0, stream>>>(
        args_of<scalar_t, T>(x0, x1, w, grid, eps), g.const_data_ptr<T>(),
        grad_f0.defined() ? grad_f0.mutable_data_ptr<scalar_t>() : nullptr,
        grad_f1.defined() ? grad_f1.mutable_data_ptr<scalar_t>() : nullptr,
        weight_partials.defined() ? weight_partials.mutable_data_ptr<T>() : nullptr);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    if (weight_partials.defined() && C > 0) {
      weight_final<T><<<static_cast<unsigned>((C + kThreads - 1) / kThreads), kBlock, 0, stream>>>(
          weight_partials.const_data_ptr<T>(), blocks, C, grad_weight.mutable_data_ptr<T>());
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    }
  });
  return {grad_f0, grad_f1, grad_weight.defined() ? grad_weight.to(weight.scalar_type()) : grad_weight};
}

}  // namespace
}  // namespace loom::ops

TORCH_LIBRARY_IMPL(loom, CUDA, m) {
  m.impl("perceptual_distance", &loom::ops::forward_cuda);
  m.impl("perceptual_distance_backward", &loom::ops::backward_cuda);
}

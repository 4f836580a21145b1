// CPU kernels of loom::perceptual_distance. Compiled once per CPU capability (CPU_CAPABILITY=DEFAULT or
// AVX2, see CMakeLists.txt); perceptual_distance_cpu.cpp picks the build at run time.
//
// Features are contiguous [N, C, P] (P = H·W pixels): a channel's pixels are contiguous, channels lie P
// apart. The work is cut into tiles (one sample, a run of pixels) small enough that a tile of both
// features stays in L2; a tile is read from memory once, channel plane by channel plane (long contiguous
// reads, which the hardware prefetches well), with vectors along the pixels and per-pixel sums in L1,
// and walked again from cache for the later passes:
//   pass 1: r0 = 1/(‖f0‖ + eps), r1 = 1/(‖f1‖ + eps) per pixel, ‖f‖² = Σ_c f_c²
//   pass 2, forward: Σ_c w_c (f0_c r0 − f1_c r1)², the difference taken as is (no cancellation when
//     f0 ≈ f1); backward: with g_c = k w_c (f0_c r0 − f1_c r1), k = 2 grad[n] / P, the dots g·f0 and
//     g·f1 per pixel, and Σ_pixels (f0_c r0 − f1_c r1)² per channel for the weight's gradient
//   pass 3, backward: ∂/∂f0_c = g_c r0 − f0_c b0,  b0 = (g·f0) r0² / ‖f0‖,
//                     ∂/∂f1_c = f1_c b1 − g_c r1,  b1 = (g·f1) r1² / ‖f1‖.
// At an all-zero pixel b = 0 (the term's limit), so the gradient there is g r = g / eps.
// The tiles are split into groups, the units of parallel work and of the weight gradient's partial
// sums; both follow from the shape alone, so results do not depend on the thread count.
// (Walking a handful of pixels through all channels with the sums in registers was slower: the 2·C
// strided streams defeat the prefetchers.)
#include <ATen/Parallel.h>
#include <ATen/cpu/vec/vec.h>

#include <algorithm>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "ops/perceptual_distance_cpu.h"

#ifndef CPU_CAPABILITY
#error "compile with -DCPU_CAPABILITY=DEFAULT or AVX2 (see CMakeLists.txt)"
#endif

namespace loom::ops::CPU_CAPABILITY {

using at::vec::Vectorized;

// A tile of both features (all channels) takes about kTileBytes, well inside a 1 MiB L2; its pixel count
// is a multiple of 64 (of every vector width) and at most kMaxTilePixels, so the per-pixel rows stay in
// L1. A group holds at least kGroupElements feature elements (small inputs stay on one thread); there
// are at most kMaxGroups (the weight gradient keeps a partial row per group).
constexpr int64_t kTileBytes = 256 << 10;
constexpr int64_t kMaxTilePixels = 1024;
constexpr int64_t kGroupElements = 1 << 16;
constexpr int64_t kMaxGroups = 64;

// Pixels [begin, begin + size) of one sample; offset: its first pixel in channel 0 (+ c·P: channel c).
struct Tile {
  int64_t sample, offset, size;
  int64_t padded;  // size rounded up to whole vectors
};

struct Tiling {
  int64_t channels, pixels, tile_pixels, tiles_per_sample, tiles, groups;

  Tiling(int64_t batch, int64_t C, int64_t P, int64_t element_bytes) : channels(C), pixels(P) {
    const int64_t fit = kTileBytes / std::max<int64_t>(2 * C * element_bytes, 1);
    tile_pixels = std::clamp<int64_t>(fit / 64 * 64, 64, kMaxTilePixels);
    tiles_per_sample = (P + tile_pixels - 1) / tile_pixels;
    tiles = batch * tiles_per_sample;
    groups = std::clamp<int64_t>(batch * C * P / kGroupElements, 1, std::max<int64_t>(std::min(tiles, kMaxGroups), 1));
  }

  int64_t first_tile(int64_t group) const { return group * tiles / groups; }

  template <typename T>
  Tile tile(int64_t index) const {
    constexpr int64_t K = Vectorized<T>::size();
    const int64_t sample = index / tiles_per_sample, begin = index % tiles_per_sample * tile_pixels;
    const int64_t size = std::min(tile_pixels, pixels - begin);
    return {sample, sample * channels * pixels + begin, size, (size + K - 1) / K * K};
  }
};

// One thread's per-pixel rows: norms, inverse norms and two accumulators.
template <typename T>
struct Rows {
  std::vector<T> storage = std::vector<T>(6 * kMaxTilePixels);
  T* n0 = storage.data();
  T* n1 = n0 + kMaxTilePixels;
  T* r0 = n1 + kMaxTilePixels;
  T* r1 = r0 + kMaxTilePixels;
  T* acc0 = r1 + kMaxTilePixels;
  T* acc1 = acc0 + kMaxTilePixels;
};

template <typename T>
double lane_sum(const Vectorized<T>& v) {
  T buf[Vectorized<T>::size()];
  v.store(buf);
  double sum = 0.0;
  for (T x : buf) sum += x;
  return sum;
}

// Pass 1: ‖f‖ and r of both features at every pixel of the tile. Lanes past the tile's end read zeros and
// get r = 0, so they add exactly nothing later (also with eps = 0).
template <typename T>
void inverse_norms(const PerceptualFeatures<T>& in, const Tile& t, Rows<T>& rows) {
  using V = Vectorized<T>;
  constexpr int64_t K = V::size();
  T* __restrict n0 = rows.n0;
  T* __restrict n1 = rows.n1;
  std::fill(n0, n0 + t.padded, T(0));
  std::fill(n1, n1 + t.padded, T(0));
  const int64_t size = t.size;
  for (int64_t c = 0; c < in.channels; ++c) {
    const T* __restrict a = in.f0 + t.offset + c * in.pixels;
    const T* __restrict b = in.f1 + t.offset + c * in.pixels;
    for (int64_t j = 0; j < size; j += K) {
      const int64_t n = std::min(K, size - j);
      const V x = V::loadu(a + j, n), y = V::loadu(b + j, n);
      at::vec::fmadd(x, x, V::loadu(n0 + j)).store(n0 + j);
      at::vec::fmadd(y, y, V::loadu(n1 + j)).store(n1 + j);
    }
  }
  T* __restrict r0 = rows.r0;
  T* __restrict r1 = rows.r1;
  const V zero(T(0)), one(T(1)), eps(static_cast<T>(in.eps));
  for (int64_t j = 0; j < t.padded; j += K) {
    const int64_t n = std::min(K, size - j);
    const V a = V::loadu(n0 + j).sqrt(), b = V::loadu(n1 + j).sqrt();
    a.store(n0 + j);
    b.store(n1 + j);
    V::set(zero, one / (a + eps), n).store(r0 + j);
    V::set(zero, one / (b + eps), n).store(r1 + j);
  }
}

// Pass 2 of the forward: Σ over the tile's pixels and channels of w_c (f0_c r0 − f1_c r1)².
template <typename T>
double tile_distance(const PerceptualFeatures<T>& in, const Tile& t, Rows<T>& rows) {
  using V = Vectorized<T>;
  constexpr int64_t K = V::size();
  T* __restrict acc = rows.acc0;
  const T* __restrict r0 = rows.r0;
  const T* __restrict r1 = rows.r1;
  std::fill(acc, acc + t.padded, T(0));
  const int64_t size = t.size;
  for (int64_t c = 0; c < in.channels; ++c) {
    const T* __restrict a = in.f0 + t.offset + c * in.pixels;
    const T* __restrict b = in.f1 + t.offset + c * in.pixels;
    const V w(in.weight[c]);
    for (int64_t j = 0; j < size; j += K) {
      const int64_t n = std::min(K, size - j);
      const V d = V::loadu(a + j, n) * V::loadu(r0 + j) - V::loadu(b + j, n) * V::loadu(r1 + j);
      at::vec::fmadd(w * d, d, V::loadu(acc + j)).store(acc + j);
    }
  }
  V total(T(0));
  for (int64_t j = 0; j < t.padded; j += K) total += V::loadu(acc + j);
  return lane_sum(total);
}

// What the backward computes, from the gradients requested.
struct BackwardPlan {
  bool f0, f1, weight;
};

// Pass 2 of the backward: g·f0 into acc0 and g·f1 into acc1 (each when its gradient is wanted), and
// weight_row[c] += weight_scale · Σ_pixels (f0_c r0 − f1_c r1)² when the weight's is.
template <typename T>
void tile_dots(const PerceptualFeatures<T>& in, const Tile& t, const BackwardPlan& plan, double k, double weight_scale,
               double* weight_row, Rows<T>& rows) {
  using V = Vectorized<T>;
  constexpr int64_t K = V::size();
  T* __restrict dot0 = rows.acc0;
  T* __restrict dot1 = rows.acc1;
  const T* __restrict r0 = rows.r0;
  const T* __restrict r1 = rows.r1;
  std::fill(dot0, dot0 + t.padded, T(0));
  std::fill(dot1, dot1 + t.padded, T(0));
  const int64_t size = t.size;
  for (int64_t c = 0; c < in.channels; ++c) {
    const T* __restrict a = in.f0 + t.offset + c * in.pixels;
    const T* __restrict b = in.f1 + t.offset + c * in.pixels;
    const V kw(static_cast<T>(k * in.weight[c]));
    V squares(T(0));
    for (int64_t j = 0; j < size; j += K) {
      const int64_t n = std::min(K, size - j);
      const V x = V::loadu(a + j, n), y = V::loadu(b + j, n);
      const V d = x * V::loadu(r0 + j) - y * V::loadu(r1 + j);
      const V g = kw * d;
      if (plan.f0) at::vec::fmadd(g, x, V::loadu(dot0 + j)).store(dot0 + j);
      if (plan.f1) at::vec::fmadd(g, y, V::loadu(dot1 + j)).store(dot1 + j);
      if (plan.weight) squares = at::vec::fmadd(d, d, squares);
    }
    if (plan.weight) weight_row[c] += weight_scale * lane_sum(squares);
  }
}

// dot -> b = dot · r² / ‖f‖ in place; 0 where ‖f‖ = 0.
template <typename T>
void corrections(T* __restrict dot, const T* __restrict r, const T* __restrict norm, int64_t padded) {
  using V = Vectorized<T>;
  constexpr int64_t K = V::size();
  const V zero(T(0));
  for (int64_t j = 0; j < padded; j += K) {
    const V n = V::loadu(norm + j), rj = V::loadu(r + j);
    V::blendv(zero, V::loadu(dot + j) * rj * rj / n, n > zero).store(dot + j);
  }
}

// Pass 3 of the backward: the feature gradients, with b0 in acc0 and b1 in acc1.
template <typename T>
void tile_gradients(const PerceptualFeatures<T>& in, const Tile& t, double k, const PerceptualGradients<T>& out,
                    const Rows<T>& rows) {
  using V = Vectorized<T>;
  constexpr int64_t K = V::size();
  const T* __restrict r0 = rows.r0;
  const T* __restrict r1 = rows.r1;
  const T* __restrict b0 = rows.acc0;
  const T* __restrict b1 = rows.acc1;
  const int64_t size = t.size;
  for (int64_t c = 0; c < in.channels; ++c) {
    const int64_t plane = t.offset + c * in.pixels;
    const T* __restrict a = in.f0 + plane;
    const T* __restrict b = in.f1 + plane;
    T* __restrict o0 = out.f0 != nullptr ? out.f0 + plane : nullptr;
    T* __restrict o1 = out.f1 != nullptr ? out.f1 + plane : nullptr;
    const V kw(static_cast<T>(k * in.weight[c]));
    for (int64_t j = 0; j < size; j += K) {
      const int64_t n = std::min(K, size - j);
      const V x = V::loadu(a + j, n), y = V::loadu(b + j, n);
      const V u = V::loadu(r0 + j), v = V::loadu(r1 + j);
      const V g = kw * (x * u - y * v);
      if (o0 != nullptr) (g * u - x * V::loadu(b0 + j)).store(o0 + j, n);
      if (o1 != nullptr) (y * V::loadu(b1 + j) - g * v).store(o1 + j, n);
    }
  }
}

template <typename scalar_t>
void perceptual_distance_forward(const PerceptualFeatures<scalar_t>& in, double* distance) {
  const Tiling tiling(in.batch, in.channels, in.pixels, sizeof(scalar_t));
  std::vector<double> partial(tiling.tiles);
  at::parallel_for(0, tiling.groups, 1, [&](int64_t begin, int64_t end) {
    Rows<scalar_t> rows;
    for (int64_t i = tiling.first_tile(begin); i < tiling.first_tile(end); ++i) {
      const Tile t = tiling.tile<scalar_t>(i);
      inverse_norms(in, t, rows);
      partial[i] = tile_distance(in, t, rows);
    }
  });
  for (int64_t n = 0; n < in.batch; ++n) {
    double sum = 0.0;
    for (int64_t i = n * tiling.tiles_per_sample; i < (n + 1) * tiling.tiles_per_sample; ++i) sum += partial[i];
    distance[n] = sum / static_cast<double>(in.pixels);
  }
}

template <typename scalar_t>
void perceptual_distance_backward(const PerceptualFeatures<scalar_t>& in, const PerceptualGradients<scalar_t>& out) {
  const Tiling tiling(in.batch, in.channels, in.pixels, sizeof(scalar_t));
  const BackwardPlan plan{out.f0 != nullptr, out.f1 != nullptr, out.weight != nullptr};
  std::vector<double> weight_rows(plan.weight ? tiling.groups * in.channels : 0, 0.0);
  const double per_pixel = 1.0 / static_cast<double>(in.pixels);
  at::parallel_for(0, tiling.groups, 1, [&](int64_t begin, int64_t end) {
    Rows<scalar_t> rows;
    for (int64_t group = begin; group < end; ++group) {
      double* weight_row = plan.weight ? weight_rows.data() + group * in.channels : nullptr;
      for (int64_t i = tiling.first_tile(group); i < tiling.first_tile(group + 1); ++i) {
        const Tile t = tiling.tile<scalar_t>(i);
        const double grad = out.grad[t.sample];
        inverse_norms(in, t, rows);
        tile_dots(in, t, plan, 2.0 * grad * per_pixel, grad * per_pixel, weight_row, rows);
        if (!plan.f0 && !plan.f1) continue;
        if (plan.f0) corrections(rows.acc0, rows.r0, rows.n0, t.padded);
        if (plan.f1) corrections(rows.acc1, rows.r1, rows.n1, t.padded);
        tile_gradients(in, t, 2.0 * grad * per_pixel, out, rows);
      }
    }
  });
  for (int64_t group = 0; plan.weight && group < tiling.groups; ++group) {
    for (int64_t c = 0; c < in.channels; ++c) out.weight[c] += weight_rows[group * in.channels + c];
  }
}

int parallel_for_threads(int64_t tasks) {
  std::mutex mutex;
  std::set<std::thread::id> threads;
  at::parallel_for(0, tasks, 1, [&](int64_t, int64_t) {
    const std::lock_guard<std::mutex> lock(mutex);
    threads.insert(std::this_thread::get_id());
  });
  return static_cast<int>(threads.size());
}

#define LOOM_INSTANTIATE(scalar_t)                                                         \
  template void perceptual_distance_forward(const PerceptualFeatures<scalar_t>&, double*); \
  template void perceptual_distance_backward(const PerceptualFeatures<scalar_t>&, const PerceptualGradients<scalar_t>&);
LOOM_INSTANTIATE(float)
LOOM_INSTANTIATE(double)
#undef LOOM_INSTANTIATE

}  // namespace loom::ops::CPU_CAPABILITY

// CPU kernels of loom::focal_contrastive_loss: rows in parallel, columns with at::vec::Vectorized. Compiled
// once per CPU capability (CPU_CAPABILITY=DEFAULT or AVX2, see CMakeLists.txt); focal_contrastive_cpu.cpp
// picks the build at run time.
//
// Per entry, with z = x for a negative (y = 0) and z = -x for the positive (y = 1), both cases read
//   ce = softplus(z),  modulator = sigmoid(z)^gamma = exp(-gamma * softplus(-z)),  loss = w * modulator * ce,
// w = 2*alpha (positive) or 2*(1-alpha) (negative). Gradient:
//   d ce / dz = sigmoid(z),  d modulator / dz = gamma * sigmoid(z)^gamma * sigmoid(-z)
//   d loss / dz = w * modulator * (sigmoid(z) + gamma * sigmoid(-z) * softplus(z)),  d loss / dx = ±(d loss / dz).
// Stable evaluation: e = exp(-|z|) in (0, 1], softplus(±z) = max(±z, 0) + log1p(e), and with r = 1/(1+e)
// sigmoid(z) = r (z >= 0) or e*r (z < 0), sigmoid(-z) the other one. No exp of a positive number, no
// cancelling subtraction, so |x| = 50 (or 1e4) stays finite (the literal max(x,0) - x*y cancels in float32).
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>
#include <ATen/cpu/vec/vec.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <type_traits>

#include "ops/focal_contrastive_cpu.h"

#ifndef CPU_CAPABILITY
#error "compile with -DCPU_CAPABILITY=DEFAULT or AVX2 (see CMakeLists.txt)"
#endif

namespace loom::ops::CPU_CAPABILITY {

using at::vec::Vectorized;

template <typename T>
struct Params {
  T gamma, w_pos, w_neg;
  Params(double a, double g)
      : gamma(static_cast<T>(g)), w_pos(static_cast<T>(2.0 * a)), w_neg(static_cast<T>(2.0 * (1.0 - a))) {}
};

// b where `mask` (a comparison result: all bits set or none) is set, else a. Bitwise, so no branch on the
// data-dependent sign of z (the generic blendv branches per lane).
template <typename T>
Vectorized<T> select(const Vectorized<T>& mask, const Vectorized<T>& b, const Vectorized<T>& a) {
  return a ^ ((a ^ b) & mask);
}

// The shared quantities of one vector of entries. `pos` masks the lane of the positive entry; it is
// empty for the (most) blocks that hold none, which then skip the blends.
template <typename T>
struct Entries {
  using V = Vectorized<T>;
  V z, sp, sig_z, sig_mz, m, w;
  Entries(const V& x, const std::optional<V>& pos, const Params<T>& p) {
    const V one(T(1)), half(T(0.5));
    z = pos ? V::blendv(x, x.neg(), *pos) : x;
    w = pos ? V::blendv(V(p.w_neg), V(p.w_pos), *pos) : V(p.w_neg);
    const V a = z.abs();
    const V e = a.neg().exp();
    const V l = e.log1p();
    sp = (z + a) * half + l;  // (z + |z|) / 2 = max(z, 0) exactly
    const V r = one / (one + e);
    const V nonneg = z >= V(T(0));
    const V er = e * r;
    sig_z = select(nonneg, r, er);
    sig_mz = select(nonneg, er, r);
    // sigmoid(z)^gamma; the common integer gammas skip the transcendental.
    if (p.gamma == T(0)) {
      m = one;
    } else if (p.gamma == T(1)) {
      m = sig_z;
    } else if (p.gamma == T(2)) {
      m = sig_z * sig_z;
    } else {
      m = (((a - z) * half + l) * V(-p.gamma)).exp();  // exp(-gamma * softplus(-z))
    }
  }
  V loss() const { return w * m * sp; }
  V grad_x(const std::optional<V>& pos, T gamma) const {
    const V dz = w * m * (sig_z + V(gamma) * sig_mz * sp);
    return pos ? V::blendv(dz, dz.neg(), *pos) : dz;
  }
};

// Loads n <= size() entries as opmath values; missing lanes are 0 (their results are never used).
template <typename T, typename scalar_t>
Vectorized<T> load(const scalar_t* p, int64_t n) {
  constexpr int64_t K = Vectorized<T>::size();
  if constexpr (std::is_same_v<T, scalar_t>) {
    if (n == K) return Vectorized<T>::loadu(p);
  }
  T buf[K] = {};
  for (int64_t k = 0; k < n; ++k) buf[k] = static_cast<T>(p[k]);
  return Vectorized<T>::loadu(buf);
}

template <typename T, typename scalar_t>
void store(const Vectorized<T>& v, scalar_t* p, int64_t n) {
  if constexpr (std::is_same_v<T, scalar_t>) {
    v.store(p, static_cast<int>(n));
  } else {
    T buf[Vectorized<T>::size()];
    v.store(buf);
    for (int64_t k = 0; k < n; ++k) p[k] = static_cast<scalar_t>(buf[k]);
  }
}

// Mask of the lane holding column t in the block starting at column j (no lane if t is elsewhere).
template <typename T>
std::optional<Vectorized<T>> positive_mask(const Vectorized<T>& lanes, int64_t t, int64_t j) {
  const int64_t d = t - j;
  if (d < 0 || d >= Vectorized<T>::size()) return std::nullopt;
  return lanes == Vectorized<T>(T(d));
}

// Rows are summed in fixed chunks whose size depends only on C, so the result is the same for any
// number of threads.
constexpr int64_t kChunkElements = 1 << 15;

template <typename scalar_t>
double focal_contrastive_forward_sum(const FocalContrastiveRows<scalar_t>& in) {
  using T = at::opmath_type<scalar_t>;
  using V = Vectorized<T>;
  constexpr int64_t K = V::size();
  const int64_t N = in.rows, C = in.cols;
  const Params<T> p(in.alpha, in.gamma);
  const int64_t rows_per_chunk = std::max<int64_t>(1, kChunkElements / std::max<int64_t>(C, 1));
  const int64_t chunks = (N + rows_per_chunk - 1) / rows_per_chunk;
  const std::unique_ptr<double[]> partials(new double[chunks]);
  at::parallel_for(0, chunks, 1, [&](int64_t begin, int64_t end) {
    const V lanes = V::arange(T(0), T(1));
    T buf[K];
    for (int64_t chunk = begin; chunk < end; ++chunk) {
      double chunk_sum = 0.0;
      for (int64_t i = chunk * rows_per_chunk; i < std::min(N, (chunk + 1) * rows_per_chunk); ++i) {
        const scalar_t* row = in.logits + i * C;
        const int64_t t = in.targets[i];
        V acc(T(0));
        int64_t j = 0;
        for (; j + K <= C; j += K) {
          const auto pos = positive_mask(lanes, t, j);
          acc += Entries<T>(load<T>(row + j, K), pos, p).loss();
        }
        acc.store(buf);
        double row_sum = 0.0;
        for (int64_t k = 0; k < K; ++k) row_sum += buf[k];
        if (j < C) {
          const auto pos = positive_mask(lanes, t, j);
          Entries<T>(load<T>(row + j, C - j), pos, p).loss().store(buf);
          for (int64_t k = 0; k < C - j; ++k) row_sum += buf[k];
        }
        chunk_sum += row_sum;
      }
      partials[chunk] = chunk_sum;
    }
  });
  double total = 0.0;
  for (int64_t chunk = 0; chunk < chunks; ++chunk) total += partials[chunk];
  return total;
}

template <typename scalar_t>
void focal_contrastive_backward(const FocalContrastiveRows<scalar_t>& in, double scale, scalar_t* grad_logits) {
  using T = at::opmath_type<scalar_t>;
  using V = Vectorized<T>;
  constexpr int64_t K = V::size();
  const int64_t C = in.cols;
  const Params<T> p(in.alpha, in.gamma);
  const int64_t grain = std::max<int64_t>(1, kChunkElements / std::max<int64_t>(C, 1));
  at::parallel_for(0, in.rows, grain, [&](int64_t begin, int64_t end) {
    const V lanes = V::arange(T(0), T(1));
    const V vscale(static_cast<T>(scale));
    for (int64_t i = begin; i < end; ++i) {
      for (int64_t j = 0; j < C; j += K) {
        const int64_t n = std::min(K, C - j);
        const auto pos = positive_mask(lanes, in.targets[i], j);
        const Entries<T> entries(load<T>(in.logits + i * C + j, n), pos, p);
        store(entries.grad_x(pos, p.gamma) * vscale, grad_logits + i * C + j, n);
      }
    }
  });
}

#define LOOM_INSTANTIATE(scalar_t)                                                      \
  template double focal_contrastive_forward_sum(const FocalContrastiveRows<scalar_t>&); \
  template void focal_contrastive_backward(const FocalContrastiveRows<scalar_t>&, double, scalar_t*);
LOOM_INSTANTIATE(float)
LOOM_INSTANTIATE(double)
LOOM_INSTANTIATE(c10::Half)
LOOM_INSTANTIATE(c10::BFloat16)
#undef LOOM_INSTANTIATE

}  // namespace loom::ops::CPU_CAPABILITY

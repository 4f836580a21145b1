// CPU kernels of loom::focal_contrastive_loss: rows in parallel, columns with at::vec::Vectorized.
//
// Per entry, with z = x for a negative (y = 0) and z = -x for the positive (y = 1), both cases read
//   ce = softplus(z),  modulator = sigmoid(z)^gamma = exp(-gamma * softplus(-z)),  loss = w * modulator * ce,
// w = 2*alpha (positive) or 2*(1-alpha) (negative). Gradient:
//   d ce / dz = sigmoid(z),  d modulator / dz = gamma * sigmoid(z)^gamma * sigmoid(-z)
//   d loss / dz = w * modulator * (sigmoid(z) + gamma * sigmoid(-z) * softplus(z)),  d loss / dx = ±(d loss / dz).
// Stable evaluation: e = exp(-|z|) in (0, 1], softplus(±z) = max(±z, 0) + log1p(e), and with r = 1/(1+e)
// sigmoid(z) = r (z >= 0) or e*r (z < 0), sigmoid(-z) the other one. No exp of a positive number, no
// cancelling subtraction, so |x| = 50 (or 1e4) stays finite.
#include <ATen/ATen.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>
#include <ATen/cpu/vec/vec.h>
#include <torch/library.h>

#include <type_traits>
#include <vector>

#include "ops/focal_contrastive.h"

namespace loom::ops {
namespace {

using at::vec::Vectorized;

template <typename T>
struct Params {
  T gamma, w_pos, w_neg;
  Params(double a, double g) : gamma(static_cast<T>(g)), w_pos(static_cast<T>(2.0 * a)), w_neg(static_cast<T>(2.0 * (1.0 - a))) {}
};

// The shared quantities of one vector of entries; `pos` is a lane mask of the positive entries.
template <typename T>
struct Entries {
  using V = Vectorized<T>;
  V z, e, sp, m, w;
  Entries(const V& x, const V& pos, const Params<T>& p) {
    const V zero(T(0));
    z = V::blendv(x, x.neg(), pos);
    e = z.abs().neg().exp();
    const V l = e.log1p();
    sp = at::vec::maximum(z, zero) + l;
    const V spn = at::vec::maximum(z.neg(), zero) + l;
    m = (spn * V(-p.gamma)).exp();
    w = V::blendv(V(p.w_neg), V(p.w_pos), pos);
  }
  V loss() const { return w * m * sp; }
  V grad_x(const V& pos, T gamma) const {
    const V r = V(T(1)) / (V(T(1)) + e);
    const V nonneg = z >= V(T(0));
    const V sig_z = V::blendv(e * r, r, nonneg);
    const V sig_mz = V::blendv(r, e * r, nonneg);
    const V dz = w * m * (sig_z + V(gamma) * sig_mz * sp);
    return V::blendv(dz, dz.neg(), pos);
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
Vectorized<T> positive_mask(const Vectorized<T>& lanes, int64_t t, int64_t j) {
  const int64_t d = t - j;
  return d >= 0 && d < Vectorized<T>::size() ? lanes == Vectorized<T>(T(d)) : Vectorized<T>(T(0));
}

// Rows are summed in fixed chunks whose size depends only on C, so the result is the same for any
// number of threads.
constexpr int64_t kChunkElements = 1 << 15;

template <typename scalar_t>
double forward_sum(const at::Tensor& x, const at::Tensor& targets, const Params<at::opmath_type<scalar_t>>& p) {
  using T = at::opmath_type<scalar_t>;
  using V = Vectorized<T>;
  constexpr int64_t K = V::size();
  const int64_t N = x.size(0), C = x.size(1);
  const scalar_t* xp = x.const_data_ptr<scalar_t>();
  const int64_t* tp = targets.const_data_ptr<int64_t>();
  const int64_t rows_per_chunk = std::max<int64_t>(1, kChunkElements / std::max<int64_t>(C, 1));
  const int64_t chunks = (N + rows_per_chunk - 1) / rows_per_chunk;
  std::vector<double> partials(chunks, 0.0);
  at::parallel_for(0, chunks, 1, [&](int64_t begin, int64_t end) {
    const V lanes = V::arange(T(0), T(1));
    T buf[K];
    for (int64_t chunk = begin; chunk < end; ++chunk) {
      double chunk_sum = 0.0;
      for (int64_t i = chunk * rows_per_chunk; i < std::min(N, (chunk + 1) * rows_per_chunk); ++i) {
        const scalar_t* row = xp + i * C;
        V acc(T(0));
        int64_t j = 0;
        for (; j + K <= C; j += K) {
          const V pos = positive_mask(lanes, tp[i], j);
          acc += Entries<T>(load<T>(row + j, K), pos, p).loss();
        }
        acc.store(buf);
        double row_sum = 0.0;
        for (int64_t k = 0; k < K; ++k) row_sum += buf[k];
        if (j < C) {
          const V pos = positive_mask(lanes, tp[i], j);
          Entries<T>(load<T>(row + j, C - j), pos, p).loss().store(buf);
          for (int64_t k = 0; k < C - j; ++k) row_sum += buf[k];
        }
        chunk_sum += row_sum;
      }
      partials[chunk] = chunk_sum;
    }
  });
  double total = 0.0;
  for (double v : partials) total += v;
  return total;
}

template <typename scalar_t>
void backward_rows(const at::Tensor& x, const at::Tensor& targets, const Params<at::opmath_type<scalar_t>>& p,
                   at::opmath_type<scalar_t> scale, at::Tensor& out) {
  using T = at::opmath_type<scalar_t>;
  using V = Vectorized<T>;
  constexpr int64_t K = V::size();
  const int64_t N = x.size(0), C = x.size(1);
  const scalar_t* xp = x.const_data_ptr<scalar_t>();
  const int64_t* tp = targets.const_data_ptr<int64_t>();
  scalar_t* op = out.mutable_data_ptr<scalar_t>();
  const int64_t grain = std::max<int64_t>(1, kChunkElements / std::max<int64_t>(C, 1));
  at::parallel_for(0, N, grain, [&](int64_t begin, int64_t end) {
    const V lanes = V::arange(T(0), T(1));
    const V vscale(scale);
    for (int64_t i = begin; i < end; ++i) {
      for (int64_t j = 0; j < C; j += K) {
        const int64_t n = std::min(K, C - j);
        const V pos = positive_mask(lanes, tp[i], j);
        const Entries<T> entries(load<T>(xp + i * C + j, n), pos, p);
        store(entries.grad_x(pos, p.gamma) * vscale, op + i * C + j, n);
      }
    }
  });
}

at::Tensor forward_cpu(const at::Tensor& logits, const at::Tensor& targets, double alpha, double gamma,
                       std::optional<double> normalizer) {
  detail::check_focal_contrastive_args(logits, targets, alpha, gamma, normalizer);
  const at::Tensor x = logits.contiguous();
  const at::Tensor t = targets.contiguous();
  double total = 0.0;
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "focal_contrastive_loss_cpu", [&] {
    total = forward_sum<scalar_t>(x, t, Params<at::opmath_type<scalar_t>>(alpha, gamma));
  });
  if (normalizer) total /= *normalizer;
  return at::scalar_tensor(total, logits.options());
}

at::Tensor backward_cpu(const at::Tensor& grad, const at::Tensor& logits, const at::Tensor& targets, double alpha,
                        double gamma, std::optional<double> normalizer) {
  detail::check_focal_contrastive_args(logits, targets, alpha, gamma, normalizer);
  TORCH_CHECK(grad.numel() == 1, "focal_contrastive_loss_backward: grad must hold one value (the loss is a ",
              "scalar), got shape ", grad.sizes());
  const at::Tensor x = logits.contiguous();
  const at::Tensor t = targets.contiguous();
  at::Tensor out = at::empty_like(x, at::MemoryFormat::Contiguous);
  const double scale = grad.item<double>() / normalizer.value_or(1.0);
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "focal_contrastive_backward_cpu", [&] {
    using T = at::opmath_type<scalar_t>;
    backward_rows<scalar_t>(x, t, Params<T>(alpha, gamma), static_cast<T>(scale), out);
  });
  return out;
}

}  // namespace
}  // namespace loom::ops

TORCH_LIBRARY_IMPL(loom, CPU, m) {
  m.impl("focal_contrastive_loss", &loom::ops::forward_cpu);
  m.impl("focal_contrastive_loss_backward", &loom::ops::backward_cpu);
}

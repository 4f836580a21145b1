#include "eval/metrics/kid.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include <ATen/ops/from_blob.h>
#include <ATen/ops/index_select.h>
#include <ATen/ops/matmul.h>

#include "core/error.h"
#include "core/text/cat.h"
#include "eval/metrics/deterministic_random.h"

namespace loom::eval {

namespace {

// m distinct row indices of [0, n): a partial Fisher–Yates shuffle.
at::Tensor choose(SplitMix64& rng, int64_t n, int64_t m) {
  std::vector<int64_t> idx(static_cast<size_t>(n));
  std::iota(idx.begin(), idx.end(), 0);
  for (int64_t i = 0; i < m; ++i) std::swap(idx[i], idx[i + static_cast<int64_t>(rng.below(n - i))]);
  return at::from_blob(idx.data(), {m}, at::kLong).clone();
}

at::Tensor cubic_kernel(const at::Tensor& x, const at::Tensor& y, double d) {
  return (at::matmul(x, y.t()) / d + 1).pow(3);
}

}  // namespace

KidResult kernel_inception_distance(const at::Tensor& a, const at::Tensor& b, int64_t num_subsets,
                                    int64_t max_subset_size, uint64_t seed) {
  if (a.dim() != 2 || b.dim() != 2 || a.size(1) != b.size(1))
    throw UserError(cat("KID: expected features [Na, D] and [Nb, D], got ", a.sizes(), " and ", b.sizes()));
  if (num_subsets < 1 || max_subset_size < 2)
    throw UserError(
        cat("KID: need num_subsets >= 1 and max_subset_size >= 2, got ", num_subsets, ", ", max_subset_size));
  const int64_t m = std::min({a.size(0), b.size(0), max_subset_size});
  if (m < 2) throw UserError(cat("KID needs at least 2 samples in each set, got ", a.size(0), " and ", b.size(0)));
  const at::Tensor fa = a.detach().to(c10::kCPU, at::kDouble), fb = b.detach().to(c10::kCPU, at::kDouble);
  const double d = static_cast<double>(a.size(1)), md = static_cast<double>(m);
  SplitMix64 rng(seed);
  std::vector<double> values;
  for (int64_t s = 0; s < num_subsets; ++s) {
    const at::Tensor x = m == fa.size(0) ? fa : at::index_select(fa, 0, choose(rng, fa.size(0), m));
    const at::Tensor y = m == fb.size(0) ? fb : at::index_select(fb, 0, choose(rng, fb.size(0), m));
    // Within-set kernel sums without the diagonal (the unbiased estimator), minus twice the cross term.
    const at::Tensor kxx = cubic_kernel(x, x, d), kyy = cubic_kernel(y, y, d);
    const double within = (kxx.sum() - kxx.diagonal().sum() + kyy.sum() - kyy.diagonal().sum()).item<double>();
    const double cross = cubic_kernel(x, y, d).sum().item<double>();
    values.push_back((within / (md - 1) - cross * 2 / md) / md);
  }
  KidResult result;
  result.subset_size = m;
  result.num_subsets = num_subsets;
  result.mean = std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
  double ss = 0.0;
  for (double v : values) ss += (v - result.mean) * (v - result.mean);
  result.std = std::sqrt(ss / static_cast<double>(values.size()));
  return result;
}

}  // namespace loom::eval

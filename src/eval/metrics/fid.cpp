#include "eval/metrics/fid.h"

#include <limits>

#include <ATen/ops/clamp_min.h>
#include <ATen/ops/diag.h>
#include <ATen/ops/diagonal.h>
#include <ATen/ops/linalg_eigh.h>
#include <ATen/ops/linalg_eigvalsh.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/outer.h>
#include <ATen/ops/sqrt.h>
#include <ATen/ops/zeros.h>

#include "core/error.h"
#include "core/io/safetensors.h"
#include "core/io/weights.h"
#include "core/text/cat.h"

namespace loom::eval {

namespace {

// Eigenvalues below the numerical-rank threshold d·ε·λmax (numpy.linalg.matrix_rank's) are rounding
// noise of a singular matrix; taking their square roots would turn noise of ε into errors of √ε.
at::Tensor clean_eigenvalues(const at::Tensor& eigenvalues) {
  const double tol = static_cast<double>(eigenvalues.numel()) * std::numeric_limits<double>::epsilon() *
                     eigenvalues.abs().max().item<double>();
  return eigenvalues.clamp_min(0.0).masked_fill(eigenvalues < tol, 0.0);
}

}  // namespace

void StatisticsAccumulator::add(const at::Tensor& features) {
  if (features.dim() != 2) throw UserError(cat("feature statistics: expected features [N, D], got ", features.sizes()));
  if (features.size(0) == 0) return;
  const at::Tensor x = features.detach().to(c10::kCPU, at::kDouble);
  if (!shift_.defined()) {
    shift_ = x.mean(0);
    sum_ = at::zeros({x.size(1)}, at::kDouble);
    outer_ = at::zeros({x.size(1), x.size(1)}, at::kDouble);
  } else if (x.size(1) != shift_.size(0)) {
    throw UserError(cat("feature statistics: batch of dimension ", x.size(1), " after ", shift_.size(0)));
  }
  const at::Tensor centred = x - shift_;
  sum_ += centred.sum(0);
  outer_ += at::matmul(centred.t(), centred);
  count_ += x.size(0);
}

FeatureStatistics StatisticsAccumulator::finish() const {
  if (count_ < 2) throw UserError(cat("feature statistics need at least 2 samples, got ", count_));
  const double n = static_cast<double>(count_);
  const at::Tensor m = sum_ / n;
  at::Tensor cov = (outer_ - n * at::outer(m, m)) / (n - 1);
  cov = (cov + cov.t()) / 2;  // exact symmetry for the eigen-solver
  return {shift_ + m, cov, count_, extractor_};
}

FeatureStatistics feature_statistics(const at::Tensor& features, const std::string& extractor) {
  StatisticsAccumulator acc(extractor);
  acc.add(features);
  return acc.finish();
}

double frechet_distance(const FeatureStatistics& a, const FeatureStatistics& b) {
  if (!a.extractor.empty() && !b.extractor.empty() && a.extractor != b.extractor)
    throw UserError(cat("FID between features of different extractors: '", a.extractor, "' vs '", b.extractor, "'"));
  if (a.mean.numel() != b.mean.numel())
    throw UserError(cat("FID between features of different dimensions: ", a.mean.numel(), " vs ", b.mean.numel()));
  const at::Tensor ma = a.mean.to(at::kDouble), mb = b.mean.to(at::kDouble);
  const at::Tensor ca = a.covariance.to(at::kDouble), cb = b.covariance.to(at::kDouble);
  // sqrt(Σa) from its eigen-decomposition.
  auto [la, va] = at::linalg_eigh(ca);
  const at::Tensor sqrt_a = at::matmul(va * at::sqrt(clean_eigenvalues(la)).unsqueeze(0), va.t());
  at::Tensor m = at::matmul(at::matmul(sqrt_a, cb), sqrt_a);
  m = (m + m.t()) / 2;
  const double tr_sqrt = at::sqrt(clean_eigenvalues(at::linalg_eigvalsh(m))).sum().item<double>();
  const double mean_term = (ma - mb).pow(2).sum().item<double>();
  const double tr_a = at::diagonal(ca).sum().item<double>(), tr_b = at::diagonal(cb).sum().item<double>();
  return mean_term + tr_a + tr_b - 2.0 * tr_sqrt;
}

void save_statistics(const std::string& path, const FeatureStatistics& stats) {
  if (!stats.mean.defined() || !stats.covariance.defined())
    throw UserError(cat("cannot save empty feature statistics to ", path));
  weights::write(path,
                 {{"mean", stats.mean.to(c10::kCPU, at::kDouble).contiguous()},
                  {"covariance", stats.covariance.to(c10::kCPU, at::kDouble).contiguous()}},
                 {{"count", std::to_string(stats.count)}, {"extractor", stats.extractor}});
}

FeatureStatistics load_statistics(const std::string& path, const std::string& expected_extractor) {
  // Metadata lives only in safetensors, so read that format directly.
  const weights::Safetensors file = weights::read_safetensors(path);
  FeatureStatistics stats;
  for (const auto& [name, tensor] : file.tensors) {
    if (name == "mean") stats.mean = tensor.to(at::kDouble);
    if (name == "covariance") stats.covariance = tensor.to(at::kDouble);
  }
  const auto count = file.metadata.find("count");
  const auto extractor = file.metadata.find("extractor");
  const int64_t d = stats.mean.defined() ? stats.mean.numel() : -1;
  if (d < 1 || stats.mean.dim() != 1 || !stats.covariance.defined() ||
      stats.covariance.sizes() != at::IntArrayRef{d, d} || count == file.metadata.end() ||
      extractor == file.metadata.end())
    throw UserError(
        cat("feature statistics file ", path,
            " lacks a 1-d \"mean\", a matching square \"covariance\" or the \"count\"/\"extractor\" metadata"));
  try {
    stats.count = std::stoll(count->second);
  } catch (const std::exception&) {
    throw UserError(cat("feature statistics file ", path, " has a non-integer count '", count->second, "'"));
  }
  stats.extractor = extractor->second;
  if (!expected_extractor.empty() && stats.extractor != expected_extractor)
    throw UserError(cat("feature statistics file ", path, " was computed with '", stats.extractor,
                        "', not the current extractor '", expected_extractor, "': delete it to recompute"));
  return stats;
}

}  // namespace loom::eval

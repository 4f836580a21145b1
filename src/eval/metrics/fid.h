#pragma once
// Fréchet Inception Distance: the Fréchet distance between Gaussians fitted to two feature sets,
//   FID = |μa − μb|² + tr Σa + tr Σb − 2 tr sqrt(Σa Σb),
// in float64. tr sqrt(Σa Σb) is taken from the eigenvalues of the symmetric PSD matrix
// sqrt(Σa) Σb sqrt(Σa) (same spectrum as Σa Σb), which stays real and finite for singular covariances
// where a general matrix square root (scipy.linalg.sqrtm) needs an ε offset.
#include <cstdint>
#include <string>
#include <utility>

#include <ATen/core/Tensor.h>

namespace loom::eval {

struct FeatureStatistics {
  at::Tensor mean;        // float64 [D]
  at::Tensor covariance;  // float64 [D, D], divided by N − 1 (numpy.cov, as pytorch-fid)
  int64_t count = 0;
  std::string extractor;  // FeatureExtractor::name() of the features; "" = unknown
};

// features [N, D] (N ≥ 2, any float dtype, any device).
FeatureStatistics feature_statistics(const at::Tensor& features, const std::string& extractor = "");

// Streams batches of features into the statistics without keeping them (sums in float64 around the first
// batch's mean, so large offsets do not cancel away the covariance).
class StatisticsAccumulator {
 public:
  explicit StatisticsAccumulator(std::string extractor = "") : extractor_(std::move(extractor)) {}
  void add(const at::Tensor& features);  // [B, D]
  int64_t count() const { return count_; }
  FeatureStatistics finish() const;  // needs count() ≥ 2

 private:
  std::string extractor_;
  at::Tensor shift_, sum_, outer_;
  int64_t count_ = 0;
};

// Throws UserError when the dimensions differ or both name different extractors.
double frechet_distance(const FeatureStatistics& a, const FeatureStatistics& b);
inline double frechet_distance(const at::Tensor& features_a, const at::Tensor& features_b) {
  return frechet_distance(feature_statistics(features_a), feature_statistics(features_b));
}

// A safetensors file with "mean" and "covariance" (F64) and metadata "count", "extractor", so real-data
// statistics are computed once per dataset. Writing is atomic.
void save_statistics(const std::string& path, const FeatureStatistics& stats);
// UserError for a missing/corrupt file, or when `expected_extractor` is given and the file's differs.
FeatureStatistics load_statistics(const std::string& path, const std::string& expected_extractor = "");

}  // namespace loom::eval

#include "eval/metrics/fallback_extractor.h"

#include <cmath>

#include <ATen/ops/_upsample_bilinear2d_aa.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/conv2d.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/relu.h>
#include <ATen/ops/upsample_bilinear2d.h>

#include "core/text/cat.h"
#include "eval/metrics/deterministic_random.h"

namespace loom::eval {

namespace {

constexpr int64_t kSize = 64;
constexpr int64_t kWidths[] = {32, 64, 128, 256};

// Uniform in [-bound, bound] from the seeded stream, so the weights are bit-identical everywhere.
at::Tensor draw(SplitMix64& rng, std::vector<int64_t> shape, double bound) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  std::vector<float> values(static_cast<size_t>(n));
  for (float& v : values) v = static_cast<float>((2.0 * rng.uniform() - 1.0) * bound);
  return at::from_blob(values.data(), shape, at::kFloat).clone();
}

}  // namespace

FallbackFeatureExtractor::FallbackFeatureExtractor(c10::Device device, int64_t batch_size, uint64_t seed)
    : device_(device), batch_size_(batch_size), seed_(seed) {
  SplitMix64 rng(seed);
  int64_t in = 3;
  for (int64_t out : kWidths) {
    // He-uniform bound keeps the activation scale roughly constant through the ReLU stages; small random
    // biases keep flat images from mapping to all-zero features.
    const double bound = std::sqrt(6.0 / static_cast<double>(in * 9));
    weights_.push_back(draw(rng, {out, in, 3, 3}, bound).to(device));
    biases_.push_back(draw(rng, {out}, 0.1).to(device));
    dim_ += out;
    in = out;
  }
}

std::string FallbackFeatureExtractor::name() const {
  return cat("fallback (random-feature CNN, seed ", seed_, "): not comparable to published FID");
}

at::Tensor FallbackFeatureExtractor::forward(const at::Tensor& images) const {
  at::Tensor x = images;
  const int64_t h = x.size(2), w = x.size(3);
  if (h > kSize || w > kSize)  // shrink with antialiasing so fine detail is averaged, not aliased
    x = at::_upsample_bilinear2d_aa(x, {kSize, kSize}, false);
  else if (h != kSize || w != kSize)
    x = at::upsample_bilinear2d(x, {kSize, kSize}, false);
  x = (2 * x - 1).contiguous(at::MemoryFormat::ChannelsLast);  // faster oneDNN convolutions
  std::vector<at::Tensor> parts;
  for (size_t i = 0; i < weights_.size(); ++i) {
    x = at::conv2d(x, weights_[i], biases_[i], {2, 2}, {1, 1});
    at::relu_(x);
    parts.push_back(x.mean({2, 3}));
  }
  return at::cat(parts, 1);
}

at::Tensor FallbackFeatureExtractor::features(const at::Tensor& images) {
  return batched_features(images, batch_size_, device_, [&](const at::Tensor& x) { return forward(x); });
}

}  // namespace loom::eval

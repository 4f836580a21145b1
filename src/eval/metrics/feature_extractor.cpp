#include "eval/metrics/feature_extractor.h"

#include <algorithm>

#include <ATen/core/grad_mode.h>
#include <ATen/ops/cat.h>
#include <c10/core/InferenceMode.h>

#include "core/error.h"
#include "core/log.h"
#include "eval/metrics/fallback_extractor.h"
#include "eval/metrics/inception_v3.h"

namespace loom::eval {

FeatureExtractor::~FeatureExtractor() = default;

at::Tensor batched_features(const at::Tensor& images, int64_t batch_size, c10::Device device,
                            const std::function<at::Tensor(const at::Tensor&)>& fn) {
  if (images.dim() != 4 || images.size(1) != 3)
    throw UserError(cat("feature extractor: expected images [N, 3, H, W], got ", images.sizes()));
  if (!images.is_floating_point())
    throw UserError(cat("feature extractor: expected float images in [0, 1], got ", images.scalar_type()));
  c10::InferenceMode inference;
  std::vector<at::Tensor> out;
  const int64_t n = images.size(0);
  for (int64_t start = 0; start < n; start += batch_size) {
    const at::Tensor batch = images.slice(0, start, std::min(n, start + batch_size)).to(device, at::kFloat);
    out.push_back(fn(batch).to(c10::kCPU, at::kFloat));
  }
  if (out.empty()) return fn(images.to(device, at::kFloat)).to(c10::kCPU, at::kFloat);  // N = 0: [0, dim]
  return out.size() == 1 ? out[0] : at::cat(out, 0);
}

std::unique_ptr<FeatureExtractor> make_feature_extractor(const FeatureExtractorOptions& options, c10::Device device) {
  std::string kind = options.kind;
  if (kind == "auto") kind = options.weights.empty() ? "fallback" : "inception";
  if (kind == "inception") {
    if (options.weights.empty())
      throw UserError(
          "feature extractor 'inception' needs weights: convert pytorch-fid's pt_inception-2015-12-05-6726825d.pth "
          "with scripts/convert_inception.py and set weights to the .safetensors file");
    return std::make_unique<InceptionFeatureExtractor>(options.weights, device, options.batch_size);
  }
  if (kind == "fallback") {
    auto extractor = std::make_unique<FallbackFeatureExtractor>(device, options.batch_size);
    if (options.kind == "auto")
      LOOM_WARN("no Inception weights given: FID/KID use the ", extractor->name(),
                ". Set the metric's weights to a file from scripts/convert_inception.py for the standard metric.");
    return extractor;
  }
  throw UserError(cat("unknown feature extractor kind '", options.kind, "' (expected auto, inception or fallback)"));
}

}  // namespace loom::eval

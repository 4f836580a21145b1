#pragma once
// Image → feature-vector networks for FID/KID. The Inception-v3 of the standard FID code gives numbers
// comparable to published ones; the fallback (a fixed random CNN) needs no weight file but only supports
// comparisons between runs that use the same fallback.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "core/config/config_schema.h"

namespace loom::eval {

class FeatureExtractor {
 public:
  virtual ~FeatureExtractor();
  // images: float [N, 3, H, W] in [0, 1], any H, W, any device; returns float32 [N, dim()] on the CPU.
  virtual at::Tensor features(const at::Tensor& images) = 0;
  virtual int64_t dim() const = 0;
  // Says what the numbers are; statistics files record it so features of different extractors never mix.
  virtual std::string name() const = 0;
  virtual bool comparable_to_published() const = 0;
};

struct FeatureExtractorOptions {
  std::string kind = "auto";  // auto | inception | fallback
  std::string weights;        // converted Inception weights (scripts/convert_inception.py)
  int64_t batch_size = 64;

  template <class V>
  void visit(V& v) {
    v("kind", kind,
      {.help = "auto: inception when weights is set, else fallback (not comparable to published FID)",
       .choices = {"auto", "inception", "fallback"}});
    v("weights", weights, {.help = "Inception-v3 FID weights (.safetensors from scripts/convert_inception.py)"});
    v("batch_size", batch_size, {.help = "images per forward pass", .min = 1});
  }
};

// Throws UserError for kind "inception" without weights and for a missing or corrupt weight file.
std::unique_ptr<FeatureExtractor> make_feature_extractor(const FeatureExtractorOptions& options, c10::Device device);

// Runs `fn` over `images` in chunks of `batch_size` on `device` without autograd and concatenates the
// float32 CPU results. Shared by the extractors; checks the [N, 3, H, W] contract.
at::Tensor batched_features(const at::Tensor& images, int64_t batch_size, c10::Device device,
                            const std::function<at::Tensor(const at::Tensor&)>& fn);

}  // namespace loom::eval

#pragma once
// RO-ViT cropped positional embeddings (Kim et al. 2023; fvlm/rovit/cropped_positional_embedding.py).
// The learned PE grid is upsampled
// (bilinear, align_corners=false) to a larger grid, one random box per sample is cropped from it and
// resized back to the patch grid with RoIAlign semantics (aligned=false, sampling_ratio=1). At
// evaluation the whole upsampled grid is used (the "full-image" box).
#include <cstdint>
#include <optional>

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include "core/config/config_schema.h"

namespace loom::nn {

struct CroppedPositionalEmbeddingOptions {
  bool enabled = false;
  int64_t upsample = 64;                 // side of the upsampled grid (e.g. 14 -> 64)
  std::vector<double> scale{0.1, 1.0};   // box area as a fraction of the image
  std::vector<double> aspect{0.5, 2.0};  // box width / height, sampled log-uniformly

  template <class V>
  void visit(V& v) {
    v("enabled", enabled, {.help = "crop a random region of the upsampled PE per sample while training"});
    v("upsample", upsample, {.help = "side of the upsampled PE grid", .min = 1});
    v("scale", scale, {.help = "[min, max] box area fraction", .min = 0.0, .max = 1.0});
    v("aspect", aspect, {.help = "[min, max] box aspect ratio (log-uniform)", .min = 0.0});
  }
};

// Boxes [B, 4] as normalised (x0, y0, x1, y1) in [0, 1], one per sample, drawn from `generator`
// (the default CPU generator when none is given).
at::Tensor sample_crop_boxes(int64_t batch, const CroppedPositionalEmbeddingOptions& options,
                             std::optional<at::Generator> generator = std::nullopt);

// grid [H, W, C] (the learned PE without class token) -> [B, out_h, out_w, C]: upsample to
// `upsample`², crop each normalised box, resize to out_h × out_w. Differentiable w.r.t. `grid`.
at::Tensor crop_positional_embedding(const at::Tensor& grid, const at::Tensor& boxes, int64_t upsample, int64_t out_h,
                                     int64_t out_w);

// The evaluation PE: grid [H, W, C] -> [out_h, out_w, C] through the same upsample and the whole box.
at::Tensor full_image_positional_embedding(const at::Tensor& grid, int64_t upsample, int64_t out_h, int64_t out_w);

}  // namespace loom::nn

#include "nn/cropped_positional_embedding.h"

#include <ATen/ATen.h>

#include <cmath>

#include "core/error.h"
#include "core/text/cat.h"
#include "core/text/join.h"

namespace loom::nn {

namespace {

// torchvision RandomResizedCrop.get_params draws up to 10 (area, ratio) pairs before falling back;
// RO-ViT's fvlm/rovit/cropped_positional_embedding.py says its crop boxes come from Random Resized Crop.
constexpr int64_t kTries = 10;

void check_range(const std::vector<double>& range, const char* key, double lowest) {
  if (range.size() == 2 && range[0] > lowest && range[0] <= range[1]) return;
  throw UserError(cat("cropped positional embedding: '", key, "' must be [min, max] with ", lowest,
                      " < min <= max, got [", join(range, ", "), "]"));
}

// Pixel coordinates of the single RoIAlign sample in each bin along one axis, and the bilinear taps
// around it, following torchvision's roi_align (aligned=false, sampling_ratio=1) on a `size`-pixel axis.
struct AxisTaps {
  at::Tensor low, high;      // [B, out] int64 pixel indices
  at::Tensor w_low, w_high;  // [B, out] interpolation weights
  at::Tensor inside;         // [B, out] bool: samples beyond one pixel outside the grid read zero
};

AxisTaps axis_taps(const at::Tensor& start, const at::Tensor& end, int64_t size, int64_t out) {
  // aligned=false: boxes are not shifted by half a pixel and are at least one pixel long.
  // The bin centres are summed in torchvision's order (start + i·bin + bin/2) so float32 rounding agrees.
  const at::Tensor bin = (at::clamp_min(end - start, 1.0) / static_cast<double>(out)).unsqueeze(1);
  const at::Tensor pos = start.unsqueeze(1) + at::arange(out, start.options()) * bin + bin * 0.5;  // [B, out]
  AxisTaps taps;
  taps.inside = (pos >= -1.0).logical_and_(pos <= static_cast<double>(size));
  const at::Tensor clamped = at::clamp_min(pos, 0.0);
  const at::Tensor low = at::floor(clamped).to(at::kLong);
  // A sample past the last pixel centre snaps to it (torchvision sets the fraction to zero there).
  const at::Tensor at_edge = low >= size - 1;
  taps.low = at::clamp_max(low, size - 1);
  taps.high = at::clamp_max(low + 1, size - 1);
  taps.w_high = at::where(at_edge, at::zeros_like(clamped), clamped - low.to(clamped.scalar_type()));
  taps.w_low = 1.0 - taps.w_high;
  return taps;
}

}  // namespace

at::Tensor sample_crop_boxes(int64_t batch, const CroppedPositionalEmbeddingOptions& options,
                             std::optional<at::Generator> generator) {
  check_range(options.scale, "scale", 0.0);
  check_range(options.aspect, "aspect", 0.0);
  const auto f64 = at::TensorOptions().dtype(at::kDouble);
  const double min_area = options.scale[0], max_area = options.scale[1];
  const double min_log_ratio = std::log(options.aspect[0]), max_log_ratio = std::log(options.aspect[1]);
  const at::Tensor area = at::rand({batch, kTries}, generator, f64) * (max_area - min_area) + min_area;
  const at::Tensor ratio =
      at::exp(at::rand({batch, kTries}, generator, f64) * (max_log_ratio - min_log_ratio) + min_log_ratio);
  const at::Tensor w_try = at::sqrt(area * ratio), h_try = at::sqrt(area / ratio);
  // The first try whose box fits the unit square wins; a sample with none takes the whole square
  // (torchvision's fallback for a square canvas whose aspect 1 lies within the ratio range).
  const at::Tensor fits = (w_try <= 1.0).logical_and_(h_try <= 1.0);
  const at::Tensor first = at::argmax(fits.to(at::kInt), 1, /*keepdim=*/true);
  const at::Tensor any = fits.any(1);
  const at::Tensor one = at::ones({}, f64);
  const at::Tensor w = at::where(any, w_try.gather(1, first).squeeze(1), one);
  const at::Tensor h = at::where(any, h_try.gather(1, first).squeeze(1), one);
  // Continuous positions, uniform over the placements that keep the box inside [0, 1]².
  const at::Tensor x0 = at::rand({batch}, generator, f64) * (1.0 - w);
  const at::Tensor y0 = at::rand({batch}, generator, f64) * (1.0 - h);
  return at::stack({x0, y0, x0 + w, y0 + h}, 1).to(at::kFloat);
}

at::Tensor crop_positional_embedding(const at::Tensor& grid, const at::Tensor& boxes, int64_t upsample, int64_t out_h,
                                     int64_t out_w) {
  TORCH_CHECK(grid.dim() == 3, "crop_positional_embedding: grid must be [H, W, C], got ", grid.sizes());
  TORCH_CHECK(boxes.dim() == 2 && boxes.size(1) == 4, "crop_positional_embedding: boxes must be [B, 4], got ",
              boxes.sizes());
  TORCH_CHECK(upsample > 0 && out_h > 0 && out_w > 0, "crop_positional_embedding: sizes must be positive");
  const int64_t channels = grid.size(2);
  const at::Tensor up = at::upsample_bilinear2d(grid.permute({2, 0, 1}).unsqueeze(0), {upsample, upsample},
                                                /*align_corners=*/false)
                            .squeeze(0)
                            .permute({1, 2, 0})
                            .reshape({upsample * upsample, channels});
  // RoIAlign with spatial scale = upsample: normalised boxes become pixels of the upsampled grid. With
  // sampling_ratio=1 each output bin is one bilinear sample, so the crop is a separable gather of four
  // taps; autograd carries the gradient back through the gather and the upsample into `grid`.
  const at::Tensor px = boxes.to(grid.options()) * static_cast<double>(upsample);
  const AxisTaps ys = axis_taps(px.select(1, 1), px.select(1, 3), upsample, out_h);
  const AxisTaps xs = axis_taps(px.select(1, 0), px.select(1, 2), upsample, out_w);
  const int64_t batch = boxes.size(0);
  const auto tap = [&](const at::Tensor& row, const at::Tensor& col, const at::Tensor& wy, const at::Tensor& wx) {
    const at::Tensor index = (row.unsqueeze(2) * upsample + col.unsqueeze(1)).reshape({-1});  // [B*out_h*out_w]
    const at::Tensor weight = (wy.unsqueeze(2) * wx.unsqueeze(1)).unsqueeze(3);               // [B, out_h, out_w, 1]
    return up.index_select(0, index).view({batch, out_h, out_w, channels}) * weight;
  };
  const at::Tensor sampled = tap(ys.low, xs.low, ys.w_low, xs.w_low) + tap(ys.low, xs.high, ys.w_low, xs.w_high) +
                             tap(ys.high, xs.low, ys.w_high, xs.w_low) + tap(ys.high, xs.high, ys.w_high, xs.w_high);
  const at::Tensor inside = (ys.inside.unsqueeze(2).logical_and(xs.inside.unsqueeze(1))).unsqueeze(3);
  return sampled * inside.to(sampled.scalar_type());
}

at::Tensor full_image_positional_embedding(const at::Tensor& grid, int64_t upsample, int64_t out_h, int64_t out_w) {
  const at::Tensor whole = at::tensor({0.0, 0.0, 1.0, 1.0}, grid.options()).unsqueeze(0);
  return crop_positional_embedding(grid, whole, upsample, out_h, out_w).squeeze(0);
}

}  // namespace loom::nn

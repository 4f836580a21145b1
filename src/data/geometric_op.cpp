#include "data/geometric_op.h"

#include <ATen/ops/empty.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "core/text/cat.h"

namespace loom::data {

GeometricOp GeometricOp::resize(cv::Size size, int interpolation) {
  GeometricOp op;
  op.kind = Kind::resize;
  op.size = size;
  op.interpolation = interpolation;
  return op;
}

GeometricOp GeometricOp::antialiased_resize(cv::Size size, PilFilter filter) {
  GeometricOp op;
  op.kind = Kind::resize;
  op.size = size;
  op.antialias = true;
  op.pil_filter = filter;
  return op;
}

GeometricOp GeometricOp::hflip() {
  GeometricOp op;
  op.kind = Kind::hflip;
  return op;
}

GeometricOp GeometricOp::crop(cv::Point origin, cv::Size size, uint8_t fill) {
  GeometricOp op;
  op.kind = Kind::crop;
  op.origin = origin;
  op.size = size;
  op.fill = fill;
  return op;
}

cv::Size GeometricOp::output_size(cv::Size input) const { return kind == Kind::hflip ? input : size; }

namespace {

// The op on an image, or on a mask (`mask`: nearest-neighbour resampling, 0 outside the input).
cv::Mat apply_to(const GeometricOp& op, const cv::Mat& image, bool mask) {
  const uint8_t fill = mask ? 0 : op.fill;
  cv::Mat out;
  switch (op.kind) {
    case GeometricOp::Kind::resize:
      if (op.antialias) return pil_resize(image, op.size, mask ? PilFilter::nearest : op.pil_filter);
      cv::resize(image, out, op.size, 0, 0, mask ? cv::INTER_NEAREST : op.interpolation);
      return out;
    case GeometricOp::Kind::hflip:
      cv::flip(image, out, 1);
      return out;
    case GeometricOp::Kind::crop: {
      const cv::Rect window(op.origin, op.size);
      const cv::Rect inside = window & cv::Rect(0, 0, image.cols, image.rows);
      if (inside == window) return image(window);
      if (inside.empty()) return cv::Mat(op.size, image.type(), cv::Scalar::all(fill));
      // The part of the window on the image, bordered with the fill out to the window.
      const int top = inside.y - window.y, left = inside.x - window.x;
      cv::copyMakeBorder(image(inside), out, top, window.height - inside.height - top, left,
                         window.width - inside.width - left, cv::BORDER_CONSTANT, cv::Scalar::all(fill));
      return out;
    }
  }
  return out;
}

}  // namespace

cv::Mat GeometricOp::apply(const cv::Mat& image) const { return apply_to(*this, image, false); }

void GeometricOp::apply(Targets& targets, cv::Size input) const {
  std::vector<int64_t> kept;
  switch (kind) {
    case Kind::resize:
      scale_targets(targets, static_cast<double>(size.width) / input.width,
                    static_cast<double>(size.height) / input.height);
      break;
    case Kind::hflip:
      flip_targets(targets, input.width);
      break;
    case Kind::crop:
      kept = crop_targets(targets, origin.x, origin.y, size.width, size.height);
      break;
  }
  if (!targets.masks.defined()) return;
  at::Tensor masks = targets.masks.to(at::kCPU).to(at::kByte).contiguous();
  if (masks.dim() != 3 || masks.size(1) != input.height || masks.size(2) != input.width)
    throw std::invalid_argument(
        cat("targets: masks must be [K, ", input.height, ", ", input.width, "] like the image, not ", masks.sizes()));
  if (kind != Kind::crop) {
    kept.resize(static_cast<size_t>(masks.size(0)));
    for (size_t i = 0; i < kept.size(); ++i) kept[i] = static_cast<int64_t>(i);
  }
  const cv::Size out_size = output_size(input);
  at::Tensor out = at::empty({static_cast<int64_t>(kept.size()), out_size.height, out_size.width}, at::kByte);
  const size_t in_plane = static_cast<size_t>(input.area()), out_plane = static_cast<size_t>(out_size.area());
  for (size_t j = 0; j < kept.size(); ++j) {
    const cv::Mat mask(input, CV_8UC1, masks.data_ptr<uint8_t>() + static_cast<size_t>(kept[j]) * in_plane);
    cv::Mat moved = apply_to(*this, mask, true);
    cv::Mat dst(out_size, CV_8UC1, out.data_ptr<uint8_t>() + j * out_plane);
    moved.copyTo(dst);
  }
  targets.masks = out;
}

}  // namespace loom::data

#pragma once
// The three primitive geometric operations every transform step is made of (data/transforms.h):
// resize, horizontal flip and crop (a window that may reach past the image, filled with a constant).
// Each applies to the 8-bit image and, identically, to its Targets (data/targets.h): one description
// of the step, so the image and its boxes, keypoints and masks cannot drift apart. A resize resamples
// with OpenCV (cv::resize) or, antialiased, as PIL does (data/pil_resize.h).
#include <cstdint>

#include <opencv2/core/mat.hpp>

#include "data/pil_resize.h"
#include "data/targets.h"

namespace loom::data {

struct GeometricOp {
  enum class Kind { resize, hflip, crop };
  Kind kind = Kind::hflip;
  cv::Size size;           // resize: the output size; crop: the window's size
  cv::Point origin;        // crop: the window's top-left corner in the input (negative or past the edge: filled)
  int interpolation = 0;   // resize without antialias: an OpenCV flag (cv::INTER_LINEAR, ...)
  bool antialias = false;  // resize: PIL's Image.resize with pil_filter instead of cv::resize
  PilFilter pil_filter = PilFilter::bicubic;
  uint8_t fill = 0;  // crop: the value of the image's pixels outside the input (masks get 0)

  static GeometricOp resize(cv::Size size, int interpolation);
  static GeometricOp antialiased_resize(cv::Size size, PilFilter filter);
  static GeometricOp hflip();
  static GeometricOp crop(cv::Point origin, cv::Size size, uint8_t fill = 0);

  cv::Size output_size(cv::Size input) const;
  // The image after the op. A crop inside the image is a view of it, not a copy.
  cv::Mat apply(const cv::Mat& image) const;
  // The targets of an image of size `input` after the op; masks go through the image code (nearest
  // neighbour for resizes: OpenCV's, or PIL's for an antialiased resize, so they stay aligned with it). Throws
  // std::invalid_argument when the masks are not at the input's size.
  void apply(Targets& targets, cv::Size input) const;
};

}  // namespace loom::data

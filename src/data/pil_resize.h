#pragma once
// PIL's Image.resize(size, resample) for 8-bit images, bit for bit: the antialiased separable filters of
// Pillow's src/libImaging/Resample.c (the filter's support widened by the downscale factor, each output
// pixel's weights normalised, then rounded to fixed point; one pass per axis, clipped to 8 bits in between,
// in Pillow 13's order) and the nearest-neighbour sampling of src/_imaging.c _resize. It is what torchvision's
// Resize does to a PIL image, so open_clip's evaluation preprocessing runs on it
// (data/open_clip_preprocess.h). cv::resize differs: no antialiasing, other pixel weights.
#include <opencv2/core/mat.hpp>

namespace loom::data {

// PIL's Image.Resampling filters (Resample.c BOX, BILINEAR, HAMMING, BICUBIC with a = -0.5, LANCZOS with
// a = 3), and NEAREST.
enum class PilFilter { nearest, box, bilinear, hamming, bicubic, lanczos };

// `image` resized to `size` as PIL's Image.resize(size, filter) with no box and no reducing_gap resizes
// the same pixels in mode "L" (one channel) or "RGB" (three). Any row stride. Same size: a copy.
// Throws std::invalid_argument for other depths or channel counts, an empty image or an empty size.
cv::Mat pil_resize(const cv::Mat& image, cv::Size size, PilFilter filter);

}  // namespace loom::data

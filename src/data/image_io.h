#pragma once
// Image files <-> pixels. Decoding yields 8-bit RGB (grayscale expanded, alpha dropped as PIL's
// convert("RGB") does, 16-bit scaled down); unreadable files throw BadSample with the path and reason.
#include <string>

#include <ATen/core/Tensor.h>
#include <opencv2/core/mat.hpp>

namespace loom::data {

// uint8 HWC RGB.
cv::Mat read_image(const std::string& path);
// Decodes an in-memory file; `name` is used in errors.
cv::Mat decode_image(const std::string& bytes, const std::string& name);

// uint8 HWC RGB -> float [3, H, W] in [0, 1], optionally normalised per channel: (x - mean) / std.
at::Tensor to_tensor(const cv::Mat& rgb, const double* mean = nullptr, const double* std = nullptr);
// float [3, H, W] in [0, 1] -> uint8 HWC RGB (clamped), the inverse of to_tensor without normalisation.
cv::Mat to_mat(const at::Tensor& chw);

// Writes a [3, H, W] or [1, H, W] image, float in [0, 1] or uint8, as PNG, atomically (folders created).
// Throws UserError when the file cannot be written.
void write_png(const std::string& path, const at::Tensor& chw_float01_or_uint8);

}  // namespace loom::data

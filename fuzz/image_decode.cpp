// Image decoding as datasets do it: the project's header check (pixel limit, truncated JPEG), OpenCV's
// decoders, the conversion to 8-bit RGB, then to a [3, H, W] tensor and back. A refused image is a
// BadSample (a std::runtime_error the loader counts), the expected outcome for a broken file.
#include <ATen/ATen.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <opencv2/core.hpp>

#include "data/dataset.h"
#include "data/image_io.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool one_thread = [] {
    cv::setNumThreads(1);  // OpenCV's pool would only add noise to the coverage of one decode
    return true;
  }();
  (void)one_thread;
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  cv::Mat rgb;
  try {
    rgb = loom::data::decode_image(bytes, "fuzz");
  } catch (const loom::data::BadSample&) {
    return 0;
  }
  if (rgb.type() != CV_8UC3 || rgb.empty()) {
    std::fprintf(stderr, "decode_image returned a %dx%d image of type %d, not 8-bit RGB\n", rgb.cols, rgb.rows,
                 rgb.type());
    std::abort();
  }
  const cv::Mat back = loom::data::to_mat(loom::data::to_tensor(rgb));
  if (cv::norm(back, rgb, cv::NORM_INF) != 0) {
    std::fprintf(stderr, "to_tensor / to_mat do not round-trip the decoded pixels\n");
    std::abort();
  }
  return 0;
}

#pragma once
// The photographs scikit-image ships (skimage.data: "astronaut", "coffee", "chelsea" RGB, "camera" grey),
// decoded by PIL through tests/python/pil_resize_reference.py, as uint8 cv::Mats of H x W x C.
#include <ATen/core/Tensor.h>
#include <opencv2/core/mat.hpp>

#include <filesystem>
#include <map>
#include <string>

#include <catch2/catch.hpp>

#include "core/io/weights.h"
#include "core/text/cat.h"
#include "support/test_env.h"

namespace loom::test {

inline cv::Mat hwc_to_mat(const at::Tensor& hwc) {
  at::Tensor t = hwc.contiguous();
  return cv::Mat(static_cast<int>(t.size(0)), static_cast<int>(t.size(1)), CV_8UC(static_cast<int>(t.size(2))),
                 t.data_ptr<uint8_t>())
      .clone();
}

inline std::map<std::string, cv::Mat> skimage_photos(const std::filesystem::path& dir) {
  const std::string path = (dir / "photos.safetensors").string();
  REQUIRE(run_python("pil_resize_reference.py", cat("photos ", path)) == 0);
  std::map<std::string, cv::Mat> out;
  for (const auto& [name, t] : weights::read(path)) out[name] = hwc_to_mat(t);
  return out;
}

}  // namespace loom::test

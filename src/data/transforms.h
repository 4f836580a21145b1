#pragma once
// Image augmentation pipelines from YAML, e.g.
//   transforms:
//     - {name: random_resized_crop, size: 224}
//     - {name: hflip}
//     - {name: normalize, mean: [0.481, 0.458, 0.408], std: [0.269, 0.261, 0.276]}
// Geometric steps (resize, center_crop, random_crop, random_resized_crop, hflip, large_scale_jitter)
// run on the 8-bit cv::Mat (cheap) and move the image's Targets with it (boxes, keypoints, masks:
// data/targets.h); the result is a float [3, H, W] tensor in [0, 1], normalised when the list ends
// with `normalize`, which leaves targets alone. Random choices draw only from the generator passed
// in, so a sample's augmentation is fixed by its seed; with or without targets the image is the same.
// `resize` resamples with OpenCV by default; `antialias: true` resamples exactly as PIL (torchvision's
// Resize on PIL images), which with `mode: longest` and center_crop's `fill` gives open_clip's
// evaluation preprocessing (data/open_clip_preprocess.h).
#include <array>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <opencv2/core/mat.hpp>

#include "core/config/config_node.h"
#include "data/geometric_op.h"
#include "data/targets.h"

namespace loom::data {

// A crop window in pixels (rows top..top+height, columns left..left+width).
struct CropBox {
  int top = 0, left = 0, height = 0, width = 0;
};

// The window random_resized_crop takes from an image of height x width (torchvision's algorithm:
// ten tries at a random area fraction in `scale` and log-uniform aspect ratio in `ratio`, then a
// central crop clamped to the ratio range).
CropBox random_resized_crop_box(int height, int width, std::array<double, 2> scale, std::array<double, 2> ratio,
                                std::mt19937_64& rng);

class Transforms {
 public:
  // A geometric step: its random choices for an input of this size, as primitive operations.
  using Step = std::function<std::vector<GeometricOp>(cv::Size input, std::mt19937_64& rng)>;

  Transforms() = default;  // no augmentation: the image converted to float
  // `list` is null (no augmentation) or a list of maps with `name`; `path` (e.g. "dataset.transforms")
  // is where errors point. Throws ConfigError.
  static Transforms from_config(const ConfigNode& list, const std::string& path);
  static std::vector<std::string> names();  // valid transform names

  cv::Mat apply_geometry(const cv::Mat& rgb, std::mt19937_64& rng) const;  // every step but normalize
  // The same, moving `targets` (given for the input image) with the image.
  cv::Mat apply_geometry(const cv::Mat& rgb, Targets& targets, std::mt19937_64& rng) const;
  at::Tensor operator()(const cv::Mat& rgb, std::mt19937_64& rng) const;  // uint8 HWC RGB -> float CHW
  at::Tensor operator()(const cv::Mat& rgb, Targets& targets, std::mt19937_64& rng) const;
  bool empty() const { return steps_.empty() && !mean_; }

 private:
  cv::Mat geometry(const cv::Mat& rgb, Targets* targets, std::mt19937_64& rng) const;
  at::Tensor to_float(const cv::Mat& img) const;

  std::vector<Step> steps_;
  std::optional<std::array<double, 3>> mean_, std_;
};

}  // namespace loom::data

#pragma once
// The quickstart's data, generated rather than downloaded: small RGB images of ten kinds of coloured
// shape at random positions, sizes and colours over a noisy gradient. Written once as an image folder
// (root/<split>/<class>/NNNNN.png) and then read like any other image folder.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>

#include "core/config/config_node.h"
#include "data/image_folder.h"

namespace loom::data {

// The class names, in label order.
const std::vector<std::string>& shape_classes();

// One uint8 HWC RGB image of shape class `label`, drawn from `rng` only.
cv::Mat draw_shape(int label, int size, std::mt19937_64& rng);

struct ShapesSpec {
  int64_t images_per_class = 200;
  int64_t image_size = 32;
  uint64_t seed = 0;
  std::string split = "train";  // train and val draw from different seeds
};

// Writes the image folder `dir` and last a `done` stamp recording the spec. Does nothing when the stamp
// is there with the same spec; otherwise builds it in a temporary folder renamed into place, so an
// interrupted or concurrent run never leaves a half-written folder behind.
void materialize_shapes(const std::string& dir, const ShapesSpec& spec);

struct SyntheticShapesOptions {
  std::string name = "synthetic_shapes";
  std::string root = "runs/.data/shapes";
  int64_t images_per_class = 200;
  int64_t val_images_per_class = 50;
  int64_t image_size = 32;
  int64_t seed = 0;
  std::string split = "train";
  ConfigNode transforms;

  template <class V>
  void visit(V& v) {
    v("name", name);
    v("root", root, {.help = "where the generated images are kept (reused by later runs)"});
    v("images_per_class", images_per_class, {.help = "training images per class", .min = 1});
    v("val_images_per_class", val_images_per_class, {.help = "validation images per class", .min = 1});
    v("image_size", image_size, {.help = "image height and width", .min = 8, .max = 1024});
    v("seed", seed, {.help = "generator seed", .min = 0});
    v("split", split, {.help = "which split to read", .choices = {"train", "val"}});
    v("transforms", transforms, {.help = "augmentation list (see data/transforms.h)"});
  }
};

// An image folder over the materialised split (root/<split>).
class SyntheticShapes : public ImageFolder {
 public:
  explicit SyntheticShapes(const SyntheticShapesOptions& options, const std::string& path = "dataset");
  std::string describe() const override;

 private:
  std::string split_;
};

}  // namespace loom::data

#pragma once
// A synthetic face world: procedural portraits (head, skin, eyes, brows, nose, lips, hair, glasses,
// background) in a random pose, each with its exact 68 landmarks in dlib's layout, generated from
// (seed, split, index) alone so that any thread can render any face. It serves landmark and alignment
// tests against dlib, face-crop pipelines, and stylisation experiments without a face dataset.
#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>
#include <opencv2/core/types.hpp>

namespace loom::data {

struct FaceWorldOptions {
  int64_t seed = 0;
  std::string split = "train";
  int64_t image_size = 256;
  bool aligned = false;
  double max_roll = 12;                   // degrees
  double max_yaw = 12;                    // degrees
  std::vector<double> scale{0.19, 0.24};  // eye-centre distance / image side, min and max
  double max_shift = 0.05;                // face centre offset / image side
  double glasses = 0.2;                   // probability

  template <class V>
  void visit(V& v) {
    v("seed", seed, {.help = "generator seed (faces differ by seed)", .min = 0});
    v("split", split, {.help = "train, val and test draw different faces", .choices = {"train", "val", "test"}});
    v("image_size", image_size, {.help = "image height and width", .min = 64, .max = 256});
    v("aligned", aligned,
      {.help = "cut each face with the FFHQ rule from its own landmarks (centred and upright, as an aligned "
               "dataset is); otherwise the face sits in the image in its random pose"});
    v("max_roll", max_roll, {.help = "in-plane rotation, uniform in +-max_roll degrees", .min = 0.0, .max = 45.0});
    v("max_yaw", max_yaw, {.help = "head turn, uniform in +-max_yaw degrees", .min = 0.0, .max = 30.0});
    v("scale", scale,
      {.help = "[min, max] distance between the eye centres as a fraction of the image side (unaligned)",
       .min = 0.08,
       .max = 0.3,
       .min_items = 2});
    v("max_shift", max_shift,
      {.help = "face centre offset from the image centre, uniform in +-max_shift of the side (unaligned)",
       .min = 0.0,
       .max = 0.2});
    v("glasses", glasses, {.help = "probability that a face wears glasses", .min = 0.0, .max = 1.0});
  }
};

struct SyntheticFace {
  cv::Mat image;                       // uint8 HWC RGB, image_size x image_size
  std::vector<cv::Point2d> landmarks;  // dlib's 68 points, pixel indices (pixel (x, y) centred on (x, y))
};

class FaceWorld {
 public:
  // `path` is the options' key in the config, for error messages. Throws UserError for a bad split,
  // size or scale range.
  explicit FaceWorld(FaceWorldOptions options, const std::string& path = "faces");

  // Face `index` of the split (any index >= 0); a pure function of (options, index), thread-safe.
  SyntheticFace render(int64_t index) const;
  // The seed everything random about face `index` derives from (for per-face draws elsewhere).
  uint64_t face_seed(int64_t index) const;

  const FaceWorldOptions& options() const { return options_; }

 private:
  FaceWorldOptions options_;
  uint64_t split_id_;
};

}  // namespace loom::data

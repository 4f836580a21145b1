#pragma once
// Photographs to aligned face crops: dlib's detector and landmarks (face_detector.h), a crop rule
// (face_crop.h) and a policy for photographs with several faces. What `loom stylize` and the few-shot
// recipe's style images go through.
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>

#include "data/face/face_crop.h"
#include "data/face/face_detector.h"

namespace loom::data {

enum class CropRule { ffhq, mediapipe, none };  // none: the whole photograph resized, no detection
enum class FacePolicy { largest, all };

// "ffhq" | "mediapipe" | "none", "largest" | "all"; UserError naming `what` and the choices otherwise.
CropRule parse_crop_rule(const std::string& name, const std::string& what);
FacePolicy parse_face_policy(const std::string& name, const std::string& what);

struct AlignedFace {
  cv::Mat image;  // size x size uint8 RGB
  FaceQuad quad;  // where it was cut from (the whole photograph for CropRule::none)
  double score = 0;
};

struct FaceAlignerOptions {
  CropRule rule = CropRule::ffhq;
  FacePolicy policy = FacePolicy::largest;
  int size = 256;
  double min_score = 0.0;  // dlib's adjust_threshold (face_detector.h)
  int upsample = 1;
  std::string landmark_model = default_landmark_model();
};

class FaceAligner {
 public:
  explicit FaceAligner(const FaceAlignerOptions& options);
  // The faces of a uint8 RGB photograph by the policy, largest first; empty when it has none.
  std::vector<AlignedFace> align(const cv::Mat& photo) const;
  const FaceAlignerOptions& options() const { return options_; }

 private:
  FaceAlignerOptions options_;
  std::unique_ptr<FaceDetector> detector_;  // null for CropRule::none
};

}  // namespace loom::data

#include "data/face/face_aligner.h"

#include <opencv2/imgproc.hpp>

#include "core/error.h"

namespace loom::data {

CropRule parse_crop_rule(const std::string& name, const std::string& what) {
  if (name == "ffhq") return CropRule::ffhq;
  if (name == "mediapipe") return CropRule::mediapipe;
  if (name == "none") return CropRule::none;
  throw UserError(what + ": unknown crop rule '" + name + "' (give ffhq, mediapipe or none)");
}

FacePolicy parse_face_policy(const std::string& name, const std::string& what) {
  if (name == "largest") return FacePolicy::largest;
  if (name == "all") return FacePolicy::all;
  throw UserError(what + ": unknown face policy '" + name + "' (give largest or all)");
}

FaceAligner::FaceAligner(const FaceAlignerOptions& options) : options_(options) {
  if (options.size < 8)
    throw UserError("face alignment: the crop size must be at least 8, got " + std::to_string(options.size));
  if (options.rule != CropRule::none)
    detector_ = std::make_unique<FaceDetector>(options.landmark_model, options.upsample, options.min_score);
}

std::vector<AlignedFace> FaceAligner::align(const cv::Mat& photo) const {
  const int size = options_.size;
  if (!detector_) {
    AlignedFace whole;
    cv::resize(photo, whole.image, {size, size}, 0, 0, photo.cols > size ? cv::INTER_AREA : cv::INTER_LINEAR);
    const double w = photo.cols, h = photo.rows;
    whole.quad.corners = {cv::Point2d{-0.5, -0.5}, {-0.5, h - 0.5}, {w - 0.5, h - 0.5}, {w - 0.5, -0.5}};
    return {whole};
  }
  std::vector<AlignedFace> out;
  for (const DetectedFace& face : detector_->detect(photo)) {
    AlignedFace aligned;
    aligned.quad = options_.rule == CropRule::ffhq ? ffhq_crop(face.landmarks) : mediapipe_crop(face.landmarks);
    aligned.image = warp_face(photo, aligned.quad, size);
    aligned.score = face.score;
    out.push_back(std::move(aligned));
    if (options_.policy == FacePolicy::largest) break;
  }
  return out;
}

}  // namespace loom::data

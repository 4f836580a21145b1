#pragma once
// Where an aligned face is cut from a photograph, as a pure function of dlib's 68 landmarks
// (chin 0-16, brows 17-26, nose 27-35, eyes 36-41 / 42-47, mouth 48-67), and the warp that cuts it.
//
// Two rules:
//   ffhq_crop       the FFHQ dataset's quad (NVlabs ffhq-dataset, download_ffhq.py,
//                   recreate_aligned_images): an oriented square around the eyes and mouth;
//   mediapipe_crop  MediaPipe's face stylizer crop (FaceToRectCalculator defaults: eye_to_mouth_mix 0.1,
//                   eye_to_mouth_scale 3.6, eye_to_eye_scale 4.0), rotated to level the eyes, with
//                   dlib's eye corners (36, 39 / 42, 45) and mouth corners (48, 54) in place of
//                   MediaPipe's mesh points (33, 133 / 263, 362 and 61, 291).
// Coordinates are pixel indices (pixel (x, y) has its centre at (x, y)), as dlib reports them.
#include <array>
#include <vector>

#include <opencv2/core/mat.hpp>
#include <opencv2/core/types.hpp>

namespace loom::data {

// A crop: the corners of the output's top-left, bottom-left, bottom-right and top-right pixel edges in
// the source, in FFHQ's order. Both rules give a square (a rotated one).
struct FaceQuad {
  std::array<cv::Point2d, 4> corners;
  double side() const;  // the length of its top edge, in source pixels
};

// Throws std::invalid_argument unless there are 68 points and the eyes are apart.
FaceQuad ffhq_crop(const std::vector<cv::Point2d>& landmarks, bool rotate = true);
FaceQuad mediapipe_crop(const std::vector<cv::Point2d>& landmarks);

// The 2x3 matrix that takes an output pixel index (of a size x size image) to its source position:
// output pixel centres at ((i + 0.5) / size, (j + 0.5) / size) of the quad, as PIL's QUAD transform of
// (quad + 0.5) maps them, so the cut is exactly an affine warp (cv::warpAffine with WARP_INVERSE_MAP).
cv::Matx23d crop_to_source(const FaceQuad& quad, int size);

// The crop as a size x size image: bilinear, reflecting the photograph where the quad leaves it. For
// crops much smaller than the quad, the photograph is first shrunk by the integer factor FFHQ uses
// (floor(side / size / 2)) with area averaging, so the bilinear taps do not alias.
cv::Mat warp_face(const cv::Mat& image, const FaceQuad& quad, int size);

// A landmark set moved by the same cut: where each point lands in the size x size crop.
std::vector<cv::Point2d> landmarks_in_crop(const std::vector<cv::Point2d>& landmarks, const FaceQuad& quad, int size);

}  // namespace loom::data

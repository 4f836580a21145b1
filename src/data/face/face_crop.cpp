#include "data/face/face_crop.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include <opencv2/imgproc.hpp>

namespace loom::data {
namespace {

cv::Point2d mean_of(const std::vector<cv::Point2d>& points, int begin, int end) {
  cv::Point2d sum(0, 0);
  for (int i = begin; i < end; ++i) sum += points[i];
  return sum / static_cast<double>(end - begin);
}

void check_landmarks(const std::vector<cv::Point2d>& landmarks) {
  if (landmarks.size() != 68)
    throw std::invalid_argument("a face crop needs dlib's 68 landmarks, got " + std::to_string(landmarks.size()));
  for (const cv::Point2d& p : landmarks)
    if (!std::isfinite(p.x) || !std::isfinite(p.y)) throw std::invalid_argument("a face landmark is not finite");
}

// The oriented square with centre c, half-width vector x (pointing right in the crop) and y = x turned
// a quarter towards the crop's bottom, corners in FFHQ's order.
FaceQuad square(cv::Point2d c, cv::Point2d x) {
  const cv::Point2d y(-x.y, x.x);
  return {{c - x - y, c - x + y, c + x + y, c + x - y}};
}

}  // namespace

double FaceQuad::side() const { return cv::norm(corners[3] - corners[0]); }

FaceQuad ffhq_crop(const std::vector<cv::Point2d>& lm, bool rotate) {
  check_landmarks(lm);
  const cv::Point2d eye_left = mean_of(lm, 36, 42), eye_right = mean_of(lm, 42, 48);
  const cv::Point2d eye_avg = (eye_left + eye_right) * 0.5, eye_to_eye = eye_right - eye_left;
  const cv::Point2d mouth_avg = (lm[48] + lm[54]) * 0.5, eye_to_mouth = mouth_avg - eye_avg;
  // x = eye_to_eye - flipud(eye_to_mouth) * [-1, 1]: the eye line averaged with the mouth's perpendicular.
  cv::Point2d x(eye_to_eye.x + eye_to_mouth.y, eye_to_eye.y - eye_to_mouth.x);
  if (cv::norm(x) == 0) throw std::invalid_argument("the face's eyes and mouth coincide");
  x /= cv::norm(x);
  if (!rotate) x = {1, 0};
  x *= std::max(cv::norm(eye_to_eye) * 2.0, cv::norm(eye_to_mouth) * 1.8);
  return square(eye_avg + eye_to_mouth * 0.1, x);
}

FaceQuad mediapipe_crop(const std::vector<cv::Point2d>& lm) {
  check_landmarks(lm);
  const cv::Point2d left = (lm[36] + lm[39]) * 0.5, right = (lm[42] + lm[45]) * 0.5;
  const cv::Point2d mouth = (lm[48] + lm[54]) * 0.5;
  const cv::Point2d eye_centre = (left + right) * 0.5, eye_to_mouth = mouth - eye_centre;
  const cv::Point2d eye_to_eye = right - left;
  if (cv::norm(eye_to_eye) == 0) throw std::invalid_argument("the face's eyes coincide");
  const double side = std::max(cv::norm(eye_to_mouth) * 3.6, cv::norm(eye_to_eye) * 4.0);
  return square(eye_centre + eye_to_mouth * 0.1, eye_to_eye / cv::norm(eye_to_eye) * (side / 2));
}

cv::Matx23d crop_to_source(const FaceQuad& quad, int size) {
  const cv::Point2d q0 = quad.corners[0], across = (quad.corners[3] - q0) / size, down = (quad.corners[1] - q0) / size;
  const cv::Point2d origin = q0 + (across + down) * 0.5;  // output pixel (0, 0)'s centre
  return {across.x, down.x, origin.x, across.y, down.y, origin.y};
}

cv::Mat warp_face(const cv::Mat& image, const FaceQuad& quad, int size) {
  if (image.empty() || size < 1) throw std::invalid_argument("warp_face needs an image and a positive size");
  FaceQuad q = quad;
  cv::Mat source = image;
  const int shrink = static_cast<int>(std::floor(quad.side() / size * 0.5));
  if (shrink > 1) {
    const cv::Size shrunk(std::max(1, static_cast<int>(std::lround(image.cols / static_cast<double>(shrink)))),
                          std::max(1, static_cast<int>(std::lround(image.rows / static_cast<double>(shrink)))));
    cv::resize(image, source, shrunk, 0, 0, cv::INTER_AREA);
    const double sx = static_cast<double>(shrunk.width) / image.cols,
                 sy = static_cast<double>(shrunk.height) / image.rows;
    for (cv::Point2d& c : q.corners) c = {(c.x + 0.5) * sx - 0.5, (c.y + 0.5) * sy - 0.5};
  }
  cv::Mat out;
  cv::warpAffine(source, out, cv::Mat(crop_to_source(q, size)), cv::Size(size, size),
                 cv::INTER_LINEAR | cv::WARP_INVERSE_MAP, cv::BORDER_REFLECT_101);
  return out;
}

std::vector<cv::Point2d> landmarks_in_crop(const std::vector<cv::Point2d>& landmarks, const FaceQuad& quad, int size) {
  cv::Mat to_crop;
  cv::invertAffineTransform(cv::Mat(crop_to_source(quad, size)), to_crop);
  std::vector<cv::Point2d> out;
  cv::transform(landmarks, out, to_crop);
  return out;
}

}  // namespace loom::data

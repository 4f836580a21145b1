// dlib's face detector and 68-point predictor on synthetic faces (data/synthetic/face_world.h), whose
// exact landmarks are known: detection rate, landmark error (mean and 95th percentile over faces of
// the mean distance over the 68 points, px), how well the FFHQ and MediaPipe crops computed from dlib's
// landmarks match those from the exact ones (polygon IoU of the two quads), and detection time.
//   build/bin/bench_face_alignment [count=200] [size=256] [aligned=0]
// Prints; never asserts.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "data/face/face_crop.h"
#include "data/face/face_detector.h"
#include "data/synthetic/face_world.h"

namespace {

using namespace loom::data;

double quad_iou(const FaceQuad& a, const FaceQuad& b) {
  std::vector<cv::Point2f> pa, pb, overlap;
  for (const auto& c : a.corners) pa.emplace_back(static_cast<float>(c.x), static_cast<float>(c.y));
  for (const auto& c : b.corners) pb.emplace_back(static_cast<float>(c.x), static_cast<float>(c.y));
  const double inter = cv::intersectConvexConvex(pa, pb, overlap, true);
  return inter / (cv::contourArea(pa) + cv::contourArea(pb) - inter);
}

double mean(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v) sum += x;
  return v.empty() ? 0 : sum / static_cast<double>(v.size());
}

// The value below which `q` of the values lie (nearest rank).
double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  const int count = argc > 1 ? std::atoi(argv[1]) : 200, size = argc > 2 ? std::atoi(argv[2]) : 256;
  const bool aligned = argc > 3 && std::atoi(argv[3]) != 0;
  cv::setNumThreads(1);
  FaceWorldOptions options;
  options.image_size = size;
  options.aligned = aligned;
  const FaceWorld world(options);
  const FaceDetector detector;  // upsample 1, dlib's default threshold
  std::vector<double> errors, ffhq_iou, mediapipe_iou, eye_distance;
  double detect_ms = 0;
  for (int i = 0; i < count; ++i) {
    const SyntheticFace face = world.render(i);
    const auto start = std::chrono::steady_clock::now();
    const auto found = detector.detect(face.image);
    detect_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    eye_distance.push_back(
        cv::norm((face.landmarks[36] + face.landmarks[39]) - (face.landmarks[42] + face.landmarks[45])) / 2);
    if (found.empty()) continue;
    const auto& dlib = found[0].landmarks;
    double sum = 0;
    for (size_t k = 0; k < 68; ++k) sum += cv::norm(dlib[k] - face.landmarks[k]);
    errors.push_back(sum / 68);
    ffhq_iou.push_back(quad_iou(ffhq_crop(dlib), ffhq_crop(face.landmarks)));
    mediapipe_iou.push_back(quad_iou(mediapipe_crop(dlib), mediapipe_crop(face.landmarks)));
  }
  std::printf("synthetic faces: %d at %d px%s (seed 0, train; eye distance %.0f-%.0f px), dlib HOG upsample 1\n", count,
              size, aligned ? " aligned" : "", quantile(eye_distance, 0), quantile(eye_distance, 1));
  std::printf("  detection rate           %.3f (%zu / %d)\n", static_cast<double>(errors.size()) / count, errors.size(),
              count);
  std::printf("  landmark error (px)      mean %.2f  p95 %.2f  max %.2f\n", mean(errors), quantile(errors, 0.95),
              quantile(errors, 1));
  std::printf("  FFHQ crop IoU            mean %.4f  p5 %.4f  min %.4f\n", mean(ffhq_iou), quantile(ffhq_iou, 0.05),
              quantile(ffhq_iou, 0));
  std::printf("  MediaPipe crop IoU       mean %.4f  p5 %.4f  min %.4f\n", mean(mediapipe_iou),
              quantile(mediapipe_iou, 0.05), quantile(mediapipe_iou, 0));
  std::printf("  detection time           %.1f ms per image (detector and predictor, one thread)\n", detect_ms / count);
  return 0;
}

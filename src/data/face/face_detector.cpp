#include "data/face/face_detector.h"

#include <algorithm>
#include <mutex>

#include <dlib/image_processing.h>
#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/opencv/cv_image.h>
#include <dlib/serialize.h>

#include "core/error.h"

namespace loom::data {

std::string default_landmark_model() { return "/usr/share/dlib/shape_predictor_68_face_landmarks.dat"; }

struct FaceDetector::State {
  dlib::frontal_face_detector detector = dlib::get_frontal_face_detector();
  dlib::shape_predictor predictor;
  std::mutex mutex;  // dlib's detector keeps scratch buffers
};

FaceDetector::FaceDetector(const std::string& landmark_model, int upsample, double min_score)
    : state_(std::make_unique<State>()), upsample_(upsample), min_score_(min_score) {
  if (upsample < 0) throw UserError("face detector: upsample must be >= 0, got " + std::to_string(upsample));
  try {
    dlib::deserialize(landmark_model) >> state_->predictor;
  } catch (const std::exception& e) {
    throw UserError("face detector: cannot read the landmark model " + landmark_model + " (" + e.what() +
                    "; Debian's libdlib-data installs it, scripts/setup does)");
  }
  if (state_->predictor.num_parts() != 68)
    throw UserError("face detector: " + landmark_model + " predicts " + std::to_string(state_->predictor.num_parts()) +
                    " landmarks, not dlib's 68");
}

FaceDetector::~FaceDetector() = default;

std::vector<DetectedFace> FaceDetector::detect(const cv::Mat& image) const {
  if (image.empty() || image.depth() != CV_8U || (image.channels() != 3 && image.channels() != 1))
    throw std::invalid_argument("face detector: needs a uint8 RGB or grey image");
  dlib::array2d<unsigned char> grey;
  if (image.channels() == 3)
    dlib::assign_image(grey, dlib::cv_image<dlib::rgb_pixel>(image));
  else
    dlib::assign_image(grey, dlib::cv_image<unsigned char>(image));
  std::lock_guard<std::mutex> lock(state_->mutex);
  // Upsampling as dlib's Python binding does it (pyramid_up), boxes mapped back to the original.
  dlib::pyramid_down<2> pyramid;
  for (int i = 0; i < upsample_; ++i) dlib::pyramid_up(grey, pyramid);
  std::vector<dlib::rect_detection> found;
  state_->detector(grey, found, min_score_);
  std::vector<DetectedFace> faces;
  for (const dlib::rect_detection& d : found) {
    const dlib::full_object_detection shape = state_->predictor(grey, d.rect);
    DetectedFace face;
    const double scale = 1.0 / (1 << upsample_);
    face.box = {d.rect.left() * scale, d.rect.top() * scale, d.rect.width() * scale, d.rect.height() * scale};
    face.score = d.detection_confidence;
    for (unsigned long k = 0; k < shape.num_parts(); ++k)
      face.landmarks.emplace_back(shape.part(k).x() * scale, shape.part(k).y() * scale);
    faces.push_back(std::move(face));
  }
  std::stable_sort(faces.begin(), faces.end(), [](const DetectedFace& a, const DetectedFace& b) {
    return a.box.area() != b.box.area() ? a.box.area() > b.box.area() : a.score > b.score;
  });
  return faces;
}

}  // namespace loom::data

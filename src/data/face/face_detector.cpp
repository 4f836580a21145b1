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
  // As dlib's Python binding (and so FFHQ's and JoJoGAN's alignment) does it: detect on the image
  // doubled `upsample` times by pyramid_up, map the boxes back with the pyramid's rect_down (which
  // carries its sub-pixel offset), and predict the landmarks on the original image.
  dlib::pyramid_down<2> pyramid;
  dlib::array2d<unsigned char> upsampled;
  dlib::assign_image(upsampled, grey);
  for (int i = 0; i < upsample_; ++i) dlib::pyramid_up(upsampled, pyramid);
  std::vector<dlib::rect_detection> found;
  state_->detector(upsampled, found, min_score_);
  std::vector<DetectedFace> faces;
  for (const dlib::rect_detection& d : found) {
    const dlib::rectangle rect = dlib::rectangle(pyramid.rect_down(dlib::drectangle(d.rect), upsample_));
    const dlib::full_object_detection shape = state_->predictor(grey, rect);
    DetectedFace face;
    face.box = {static_cast<double>(rect.left()), static_cast<double>(rect.top()), static_cast<double>(rect.width()),
                static_cast<double>(rect.height())};
    face.score = d.detection_confidence;
    for (unsigned long k = 0; k < shape.num_parts(); ++k)
      face.landmarks.emplace_back(shape.part(k).x(), shape.part(k).y());
    faces.push_back(std::move(face));
  }
  std::stable_sort(faces.begin(), faces.end(), [](const DetectedFace& a, const DetectedFace& b) {
    return a.box.area() != b.box.area() ? a.box.area() > b.box.area() : a.score > b.score;
  });
  return faces;
}

}  // namespace loom::data

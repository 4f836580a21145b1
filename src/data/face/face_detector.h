#pragma once
// Faces in a photograph with dlib: its HOG frontal face detector and the 68-point shape predictor
// (Debian's libdlib-data ships shape_predictor_68_face_landmarks.dat, the landmark model FFHQ was
// aligned with). dlib's types stay in the .cpp.
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>
#include <opencv2/core/types.hpp>

namespace loom::data {

// Where Debian's libdlib-data installs the 68-point model.
std::string default_landmark_model();

struct DetectedFace {
  cv::Rect2d box;                      // the detector's box, pixels
  double score = 0;                    // the HOG detector's confidence
  std::vector<cv::Point2d> landmarks;  // dlib's 68 points, pixel indices
};

class FaceDetector {
 public:
  // `upsample`: times the photograph is doubled before detection (dlib's argument; 1 finds faces down
  // to about 40 px). `min_score`: the HOG score a detection needs (dlib's adjust_threshold; 0 is its
  // default and lets weak false detections through, which the policies below may want to drop).
  // Throws UserError naming the file when the landmark model cannot be read.
  explicit FaceDetector(const std::string& landmark_model = default_landmark_model(), int upsample = 1,
                        double min_score = 0.0);
  ~FaceDetector();
  FaceDetector(const FaceDetector&) = delete;
  FaceDetector& operator=(const FaceDetector&) = delete;

  // The faces of a uint8 RGB (or grey) image, largest box first (ties: higher score first).
  // Thread-safe (calls are serialised).
  std::vector<DetectedFace> detect(const cv::Mat& image) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
  int upsample_;
  double min_score_;
};

}  // namespace loom::data

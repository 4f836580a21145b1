#pragma once
// The geometry of a synthetic face, shared by its landmarks and its drawing: a few proportions drawn per
// face (jaw, eyes, brows, nose, mouth), dlib's 68 landmarks computed from them, and the view that
// projects face-frame points into the canonical (upright) drawing frame. Everything drawn is placed
// from these points, so the landmarks are where the features are by construction.
#include <array>
#include <random>
#include <vector>

#include <opencv2/core/types.hpp>

namespace loom::data {

// A point in the face's own frame: the unit is the distance between the eye centres, the origin lies
// midway between them, x points to the image's right, y down and z towards the viewer (depth matters
// only for yaw).
struct FacePoint {
  double x = 0, y = 0, z = 0;
};

// Proportions of one face, in face units.
struct FaceShape {
  double jaw_half_width = 1.17;  // half the width between landmarks 0 and 16
  double jaw_top = -0.03;        // height of landmarks 0 / 16 (below the eye line)
  double chin = 1.93;            // height of landmark 8
  double jaw_power = 2.05;       // superellipse exponent of the jaw: larger is squarer
  double eye_half_width = 0.2;   // half the corner-to-corner width of an eye
  double eye_upper = 0.075;      // upper-lid height above the corner line
  double eye_lower = 0.055;      // lower-lid depth below it
  double eye_tilt = 0.02;        // outer corners raised by this much
  double iris_radius = 0.095;
  cv::Point2d gaze;              // iris offset from the eye's centre
  double brow_height = 0.33;     // top of a brow's arch above the eye line
  double brow_thickness = 0.07;  // at its thickest
  double nose_length = 0.6;      // height of the nose tip (landmark 30)
  double nose_half_width = 0.2;  // landmarks 31 / 35 from the midline
  double mouth_y = 1.1;          // height of the mouth corners
  double mouth_half_width = 0.44;
  double upper_lip = 0.1;  // lip thicknesses at the centre
  double lower_lip = 0.14;
  double mouth_open = 0.0;  // gap between the inner lips
  double smile = 0.0;       // corners raised by this much
  double forehead = 0.95;   // hairline height above the eye line
};

// A face's shape drawn from `rng`, around an average adult's proportions.
FaceShape random_face_shape(std::mt19937_64& rng);

// dlib's 68 landmarks of the shape in the face frame (chin 0-16, brows 17-26, nose 27-35, the
// image-left eye 36-41 and the other 42-47, each clockwise from its leftmost corner, outer mouth
// 48-59, inner mouth 60-67).
std::array<FacePoint, 68> face_landmarks(const FaceShape& shape);

// The head's outline in the face frame: the jaw through landmarks 0-16 and the skull's arch over it,
// closed, clockwise from landmark 0's side.
std::vector<FacePoint> head_outline(const FaceShape& shape);

// Face frame -> canonical drawing frame (pixel indices of an upright image): orthographic yaw about
// the vertical axis, then `unit` pixels per face unit around `origin`.
struct FaceView {
  double yaw = 0;  // radians, positive turns the face towards the image's right
  cv::Point2d origin;
  double unit = 1;
  cv::Point2d operator()(const FacePoint& p) const;
  std::vector<cv::Point2d> operator()(const std::vector<FacePoint>& points) const;
};

// A closed (or open) Catmull-Rom curve through `points`, `per_segment` samples between neighbours.
std::vector<cv::Point2d> smooth_curve(const std::vector<cv::Point2d>& points, bool closed, int per_segment = 8);

}  // namespace loom::data

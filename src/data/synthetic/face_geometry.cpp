#include "data/synthetic/face_geometry.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "data/random.h"

namespace loom::data {

namespace {

constexpr double kPi = 3.14159265358979323846;

// Heights of jaw landmarks 0..8 as fractions of the way from landmark 0 down to the chin (8): the
// upper jaw points are spread over the cheek, the lower ones crowd around the chin, as dlib's are.
constexpr std::array<double, 9> kJawRise{0, 0.16, 0.33, 0.49, 0.64, 0.77, 0.89, 0.975, 1.0};

FacePoint mirror(const FacePoint& p) { return {-p.x, p.y, p.z}; }

}  // namespace

FaceShape random_face_shape(std::mt19937_64& rng) {
  FaceShape s;
  s.jaw_half_width = uniform(rng, 1.1, 1.24);
  s.jaw_top = uniform(rng, -0.07, 0.01);
  s.chin = uniform(rng, 1.82, 2.02);
  s.jaw_power = uniform(rng, 1.8, 2.3);
  s.eye_half_width = uniform(rng, 0.185, 0.215);
  s.eye_upper = uniform(rng, 0.065, 0.085);
  s.eye_lower = uniform(rng, 0.045, 0.06);
  s.eye_tilt = uniform(rng, -0.01, 0.04);
  s.iris_radius = uniform(rng, 0.088, 0.1);
  s.gaze = {uniform(rng, -0.03, 0.03), uniform(rng, -0.01, 0.01)};
  s.brow_height = uniform(rng, 0.3, 0.38);
  s.brow_thickness = uniform(rng, 0.055, 0.09);
  s.nose_length = uniform(rng, 0.55, 0.66);
  s.nose_half_width = uniform(rng, 0.17, 0.23);
  s.mouth_y = s.nose_length + uniform(rng, 0.45, 0.55);
  s.mouth_half_width = uniform(rng, 0.39, 0.48);
  s.upper_lip = uniform(rng, 0.07, 0.11);
  s.lower_lip = uniform(rng, 0.1, 0.16);
  s.mouth_open = uniform01(rng) < 0.3 ? uniform(rng, 0.03, 0.1) : uniform(rng, 0.0, 0.012);
  s.smile = uniform(rng, -0.01, 0.05);
  s.forehead = uniform(rng, 0.85, 1.05);
  return s;
}

std::array<FacePoint, 68> face_landmarks(const FaceShape& s) {
  std::array<FacePoint, 68> lm;
  // Jaw: a superellipse quadrant per side; the edges lie far behind the chin.
  for (int i = 0; i <= 8; ++i) {
    const double f = kJawRise[static_cast<size_t>(i)];
    const double x = s.jaw_half_width * std::pow(1 - std::pow(f, s.jaw_power), 1 / s.jaw_power);
    const double z = 0.2 - std::pow(x / s.jaw_half_width, 1.5);
    lm[static_cast<size_t>(i)] = {-x, s.jaw_top + (s.chin - s.jaw_top) * f, z};
    lm[static_cast<size_t>(16 - i)] = {x, s.jaw_top + (s.chin - s.jaw_top) * f, z};
  }
  // Brows: the top edge of the image-left brow, outer (17) to inner (21); the other mirrors it.
  constexpr std::array<double, 5> bx{-0.92, -0.76, -0.58, -0.4, -0.2}, drop{0.15, 0.035, 0, 0.035, 0.1},
      bz{-0.25, -0.05, 0.05, 0.12, 0.15};
  for (size_t k = 0; k < 5; ++k) {
    lm[17 + k] = {bx[k], -s.brow_height + drop[k] * s.brow_height / 0.36, bz[k]};
    lm[26 - k] = mirror(lm[17 + k]);
  }
  // Nose: the bridge from between the eyes to the tip, then the base of the nostrils.
  const double L = s.nose_length, w = s.nose_half_width;
  for (size_t k = 0; k < 4; ++k) lm[27 + k] = {0, -0.02 + (L + 0.02) * static_cast<double>(k) / 3, 0.15 + 0.133 * k};
  lm[31] = {-w, L + 0.13, 0.15};
  lm[32] = {-w * 0.5, L + 0.19, 0.3};
  lm[33] = {0, L + 0.21, 0.38};
  lm[34] = mirror(lm[32]);
  lm[35] = mirror(lm[31]);
  // Eyes: corners on a line raised at the outer end, lids through the thirds.
  for (int e = 0; e < 2; ++e) {
    const double cx = e == 0 ? -0.5 : 0.5, left = cx - s.eye_half_width, right = cx + s.eye_half_width;
    const double y_left = e == 0 ? -s.eye_tilt : 0.03, y_right = e == 0 ? 0.03 : -s.eye_tilt;
    auto at = [&](double t, double lid) {
      const double y = y_left + (y_right - y_left) * t - lid * std::pow(std::sin(kPi * t), 0.7);
      return FacePoint{left + (right - left) * t, y, -0.08};
    };
    const size_t base = e == 0 ? 36 : 42;
    lm[base + 0] = {left, y_left, e == 0 ? -0.2 : -0.05};
    lm[base + 1] = at(1.0 / 3, s.eye_upper);
    lm[base + 2] = at(2.0 / 3, s.eye_upper);
    lm[base + 3] = {right, y_right, e == 0 ? -0.05 : -0.2};
    lm[base + 4] = at(2.0 / 3, -s.eye_lower);
    lm[base + 5] = at(1.0 / 3, -s.eye_lower);
  }
  // Mouth: the inner lines bent by the smile, the lips' outer edges above and below them.
  const double mw = s.mouth_half_width, upper = s.mouth_y + 0.01, lower = upper + s.mouth_open;
  auto mouth = [&](double fx, double y) { return FacePoint{fx * mw, y - s.smile * fx * fx, 0.35 - 0.3 * fx * fx}; };
  lm[48] = mouth(-1, s.mouth_y);
  lm[49] = mouth(-0.64, upper - 0.6 * s.upper_lip);
  lm[50] = mouth(-0.25, upper - s.upper_lip);
  lm[51] = mouth(0, upper - 0.82 * s.upper_lip);
  lm[55] = mouth(0.6, lower + 0.75 * s.lower_lip);
  lm[56] = mouth(0.28, lower + 0.96 * s.lower_lip);
  lm[57] = mouth(0, lower + s.lower_lip);
  lm[60] = mouth(-0.85, s.mouth_y + 0.01);
  lm[61] = mouth(-0.25, upper);
  lm[62] = mouth(0, upper);
  lm[66] = mouth(0, lower);
  lm[65] = mouth(0.25, lower);
  for (auto [a, b] : {std::pair{48, 54}, {49, 53}, {50, 52}, {55, 59}, {56, 58}, {60, 64}, {61, 63}, {65, 67}})
    lm[static_cast<size_t>(b)] = mirror(lm[static_cast<size_t>(a)]);
  return lm;
}

std::vector<FacePoint> head_outline(const FaceShape& s) {
  const auto lm = face_landmarks(s);
  std::vector<FacePoint> out(lm.begin(), lm.begin() + 17);
  // The skull: half an ellipse from landmark 16 over the crown to landmark 0, on the head's silhouette
  // (its depth is the head's centre, so yaw moves it against the features).
  const double half_width = s.jaw_half_width * 1.02, height = s.jaw_top + s.forehead + 0.85;
  for (int k = 1; k < 16; ++k) {
    const double a = kPi * k / 16;
    out.push_back({half_width * std::cos(a), s.jaw_top - height * std::sin(a), -0.8});
  }
  return out;
}

cv::Point2d FaceView::operator()(const FacePoint& p) const {
  return {origin.x + unit * (p.x * std::cos(yaw) + p.z * std::sin(yaw)), origin.y + unit * p.y};
}

std::vector<cv::Point2d> FaceView::operator()(const std::vector<FacePoint>& points) const {
  std::vector<cv::Point2d> out;
  for (const FacePoint& p : points) out.push_back((*this)(p));
  return out;
}

std::vector<cv::Point2d> smooth_curve(const std::vector<cv::Point2d>& p, bool closed, int per_segment) {
  const int n = static_cast<int>(p.size());
  auto at = [&](int i) { return p[static_cast<size_t>(closed ? (i + n) % n : std::clamp(i, 0, n - 1))]; };
  std::vector<cv::Point2d> out;
  const int segments = closed ? n : n - 1;
  for (int i = 0; i < segments; ++i) {
    const cv::Point2d p0 = at(i - 1), p1 = at(i), p2 = at(i + 1), p3 = at(i + 2);
    for (int k = 0; k < per_segment; ++k) {
      const double t = static_cast<double>(k) / per_segment, t2 = t * t, t3 = t2 * t;
      out.push_back(0.5 *
                    (2 * p1 + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t2 + (3 * p1 - p0 - 3 * p2 + p3) * t3));
    }
  }
  if (!closed) out.push_back(p.back());
  return out;
}

}  // namespace loom::data

#include "data/synthetic/face_render.h"

#include <algorithm>
#include <array>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "data/random.h"

namespace loom::data {

namespace {

using Points = std::vector<cv::Point2d>;
constexpr double kPi = 3.14159265358979323846;

cv::Vec3f rgb(double r, double g, double b) {
  return {static_cast<float>(r / 255), static_cast<float>(g / 255), static_cast<float>(b / 255)};
}

cv::Vec3f mix(const cv::Vec3f& a, const cv::Vec3f& b, double t) {
  return a * static_cast<float>(1 - t) + b * static_cast<float>(t);
}

// Light to dark skin, dark to light hair, iris colours: a face blends two neighbours and jitters.
const std::array<cv::Vec3f, 6> kSkin{rgb(236, 200, 176), rgb(224, 180, 150), rgb(200, 150, 114),
                                     rgb(168, 116, 84),  rgb(124, 82, 58),   rgb(90, 60, 44)};
const std::array<cv::Vec3f, 7> kHair{rgb(28, 24, 22),    rgb(58, 40, 28),    rgb(100, 68, 44),  rgb(140, 72, 40),
                                     rgb(196, 160, 108), rgb(150, 148, 146), rgb(215, 205, 185)};
const std::array<cv::Vec3f, 6> kIris{rgb(88, 54, 30),  rgb(52, 34, 22),   rgb(118, 92, 50),
                                     rgb(78, 108, 70), rgb(78, 118, 160), rgb(108, 118, 128)};

// What one drawing pass needs: the canvas, the shape, its landmarks in both frames and the look.
struct Face {
  FaceCanvas& canvas;
  const FaceShape& s;
  const FaceLook& look;
  std::array<FacePoint, 68> lm;
  Points p;  // the landmarks on the canvas
  cv::Point2d at(double x, double y, double z = 0) const { return canvas.at(x, y, z); }
  Points curve(std::initializer_list<int> ids, bool closed, int per = 6) const {
    Points pts;
    for (int i : ids) pts.push_back(p[static_cast<size_t>(i)]);
    return smooth_curve(pts, closed, per);
  }
};

Points project(const Face& f, const std::vector<FacePoint>& points) { return f.canvas.view(points); }

void draw_body(Face& f) {
  const double W = f.s.jaw_half_width, c = f.s.chin;
  // Neck: shaded, darkest under the jaw, where the head's shadow falls.
  const Stamp neck = fill_stamp(
      f.canvas,
      {project(f,
               {{-0.52 * W, 0.9, -0.4}, {0.52 * W, 0.9, -0.4}, {0.56 * W, c + 1.3, -0.4}, {-0.56 * W, c + 1.3, -0.4}})},
      0.01);
  paint(f.canvas, neck, f.look.skin * 0.86f, 1, true);
  Points jaw(f.p.begin(), f.p.begin() + 17);
  for (auto& q : jaw) q.y += 0.14 * f.canvas.view.unit;
  Stamp shadow = fill_stamp(f.canvas, {jaw}, 0.1);
  intersect(shadow, neck);
  darken(f.canvas, shadow, 0.45);
  // Shoulders and a neckline.
  std::vector<FacePoint> torso{{-0.5 * W, c + 0.5, -0.5}, {-1.4, c + 0.75, -0.5},   {-2.2, c + 1.1, -0.5},
                               {-2.7, c + 3.5, -0.5},     {2.7, c + 3.5, -0.5},     {2.2, c + 1.1, -0.5},
                               {1.4, c + 0.75, -0.5},     {0.5 * W, c + 0.5, -0.5}, {0.3, c + 0.7, -0.3},
                               {0, c + 1.0, -0.3},        {-0.3, c + 0.7, -0.3}};
  const Stamp body = fill_stamp(f.canvas, {smooth_curve(project(f, torso), true, 4)}, 0.01);
  paint(f.canvas, body, f.look.clothing, 1, true);
  Stamp collar =
      stroke_stamp(f.canvas, project(f, {{-1.8, c + 0.8, -0.5}, {0, c + 0.8, -0.3}, {1.8, c + 0.8, -0.5}}), 0.25, 0.2);
  intersect(collar, body);
  darken(f.canvas, collar, 0.3);
}

// The skull, skin shaded by the distance from the outline (rounding), the light's side and the ears.
void draw_head(Face& f) {
  const double W = f.s.jaw_half_width, u = f.canvas.view.unit;
  for (double sd : {-1.0, 1.0}) {
    const cv::Point2d ear = f.at(sd * W * 0.97, f.s.jaw_top + 0.3, -0.8);
    paint(f.canvas, ellipse_stamp(f.canvas, ear, 0.13, 0.3, sd * 0.15, 0.01), f.look.skin * 0.88f, 1, true);
    darken(f.canvas, ellipse_stamp(f.canvas, ear, 0.06, 0.18, sd * 0.15, 0.03), 0.35);
  }
  const Stamp head = fill_stamp(f.canvas, {smooth_curve(project(f, head_outline(f.s)), true, 4)}, 0.006);
  cv::Mat inside;
  cv::threshold(head.mask, inside, 0.5, 255, cv::THRESH_BINARY);
  inside.convertTo(inside, CV_8U);
  cv::Mat1f depth;
  cv::distanceTransform(inside, depth, cv::DIST_L2, 5);
  const cv::Point2d mid = f.at(0, 0.5, 0);
  cv::Mat3f c = f.canvas.colour(head.roi);
  cv::Mat1f a = f.canvas.alpha(head.roi);
  for (int y = 0; y < c.rows; ++y)
    for (int x = 0; x < c.cols; ++x) {
      const float m = head.mask(y, x);
      if (m <= 0) continue;
      const double round = 0.68 + 0.32 * (1 - std::exp(-depth(y, x) / (0.28 * u)));
      const double side = 1 + 0.12 * f.look.light * (head.roi.x + x - mid.x) / (W * u);
      const cv::Vec3f skin = f.look.skin * static_cast<float>(std::clamp(round * side, 0.0, 1.1));
      c(y, x) = c(y, x) * (1 - m) + skin * m;
      a(y, x) += m * (1 - a(y, x));
    }
  // Broad highlights and blush: forehead, cheekbones, cheeks, chin.
  darken(f.canvas, ellipse_stamp(f.canvas, f.at(0, -0.55, 0.2), 0.45, 0.22, 0, 0.15), -0.07);
  for (double sd : {-1.0, 1.0}) {
    darken(f.canvas, ellipse_stamp(f.canvas, f.at(sd * 0.62, 0.42, 0), 0.22, 0.12, 0, 0.1), -0.06);
    paint(f.canvas, ellipse_stamp(f.canvas, f.at(sd * 0.6, 0.78, 0), 0.25, 0.17, 0, 0.12), rgb(220, 100, 100), 0.1);
  }
  darken(f.canvas, ellipse_stamp(f.canvas, f.at(0, f.s.chin - 0.22, 0.25), 0.2, 0.1, 0, 0.08), -0.06);
}

void draw_eyes(Face& f) {
  const double u = f.canvas.view.unit, cy = std::cos(f.canvas.view.yaw);
  const cv::Vec3f lash = f.look.hair * 0.35f + cv::Vec3f(0.02f, 0.015f, 0.015f);
  for (int e = 0; e < 2; ++e) {
    const int b = e == 0 ? 36 : 42;
    const double sd = e == 0 ? -1 : 1;
    // The socket's shadow, deepest towards the nose.
    darken(f.canvas, ellipse_stamp(f.canvas, f.at(sd * 0.47, -0.06, -0.05), 0.34, 0.22, 0, 0.09), 0.22);
    // Lid crease above the upper lid.
    std::vector<FacePoint> crease;
    for (double t : {0.0, 0.33, 0.66, 1.0}) {
      const double x = sd * 0.5 + (t - 0.5) * 2.1 * f.s.eye_half_width;
      crease.push_back({x, -f.s.eye_upper - 0.06 * std::sin(kPi * (0.15 + 0.7 * t)) - 0.02, -0.08});
    }
    darken(f.canvas, stroke_stamp(f.canvas, smooth_curve(project(f, crease), false), 0.02, 0.02), 0.18);
    const Stamp sclera = fill_stamp(f.canvas, {f.curve({b, b + 1, b + 2, b + 3, b + 4, b + 5}, true)}, 0.006);
    paint(f.canvas, sclera, rgb(226, 218, 212), 0.95);
    cv::Point2d centre(0, 0);
    for (int k = 0; k < 6; ++k) centre += f.p[static_cast<size_t>(b + k)] / 6.0;
    centre += cv::Point2d(f.s.gaze.x * cy, f.s.gaze.y) * u;
    const double r = f.s.iris_radius;
    auto clipped = [&](Stamp s) {
      intersect(s, sclera);
      return s;
    };
    paint(f.canvas, clipped(ellipse_stamp(f.canvas, centre, r * cy, r, 0, 0.004)), f.look.iris);
    darken(f.canvas, clipped(stroke_stamp(f.canvas, ellipse_points(centre, r * cy * u, r * u, 0), 0.018, 0.006)), 0.5);
    paint(f.canvas, clipped(ellipse_stamp(f.canvas, centre, 0.42 * r * cy, 0.42 * r, 0, 0.004)), rgb(12, 10, 10));
    const cv::Point2d glint = centre + cv::Point2d(0.3 * f.look.light - 0.15, -0.35) * (r * u);
    paint(f.canvas, clipped(ellipse_stamp(f.canvas, glint, 0.17 * r, 0.17 * r, 0, 0.003)), rgb(250, 250, 250), 0.9);
    // The upper lid's shadow on the eyeball, the corners' shade, then the lash line and lower lid.
    darken(f.canvas, clipped(stroke_stamp(f.canvas, f.curve({b, b + 1, b + 2, b + 3}, false), 0.05, 0.025)), 0.35);
    for (int k : {b, b + 3})
      darken(f.canvas, clipped(ellipse_stamp(f.canvas, f.p[static_cast<size_t>(k)], 0.05, 0.04, 0, 0.02)), 0.2);
    paint(f.canvas, stroke_stamp(f.canvas, f.curve({b, b + 1, b + 2, b + 3}, false), 0.03, 0.006), lash, 0.92);
    const int outer = e == 0 ? b : b + 3;
    paint(f.canvas, ellipse_stamp(f.canvas, f.p[static_cast<size_t>(outer)], 0.03, 0.015, 0, 0.008), lash, 0.7);
    darken(f.canvas, stroke_stamp(f.canvas, f.curve({b + 3, b + 4, b + 5, b}, false), 0.014, 0.008), 0.28);
  }
}

void draw_brows(Face& f) {
  constexpr std::array<double, 5> profile{0.3, 0.75, 1.0, 1.0, 0.95};  // thickness, outer end to inner
  const cv::Vec3f colour = mix(f.look.hair, rgb(40, 30, 24), 0.35);
  for (int e = 0; e < 2; ++e) {
    std::vector<FacePoint> top, bottom;
    for (size_t k = 0; k < 5; ++k) {
      const FacePoint q = f.lm[e == 0 ? 17 + k : 26 - k];
      top.push_back(q);
      bottom.push_back({q.x, q.y + profile[k] * f.s.brow_thickness, q.z});
    }
    Points outline = smooth_curve(project(f, top), false, 5);
    Points under = smooth_curve(project(f, bottom), false, 5);
    outline.insert(outline.end(), under.rbegin(), under.rend());
    paint(f.canvas, fill_stamp(f.canvas, {outline}, 0.012), colour, 0.9);
    darken(f.canvas, fill_stamp(f.canvas, {outline}, 0.05), 0.12);
  }
}

void draw_nose(Face& f) {
  const double L = f.s.nose_length, w = f.s.nose_half_width, light = f.look.light;
  for (double sd : {-1.0, 1.0}) {
    const Points side =
        project(f, {{sd * 0.11, 0.05, 0.1}, {sd * 0.15, L * 0.6, 0.2}, {sd * w * 0.85, L + 0.05, 0.15}});
    darken(f.canvas, stroke_stamp(f.canvas, smooth_curve(side, false), 0.05, 0.05), 0.16 - 0.08 * sd * light);
    const Points ala = project(f, {{sd * w * 0.8, L - 0.02, 0.25},
                                   {sd * (w + 0.02), L + 0.07, 0.15},
                                   {sd * w, L + 0.13, 0.15},
                                   {sd * w * 0.7, L + 0.17, 0.25}});
    darken(f.canvas, stroke_stamp(f.canvas, smooth_curve(ala, false), 0.025, 0.015), 0.3);
    darken(f.canvas, ellipse_stamp(f.canvas, f.at(sd * w * 0.5, L + 0.15, 0.3), 0.06, 0.028, sd * 0.25, 0.01), 0.7);
    const Points fold = project(f, {{sd * (w + 0.06), L + 0.06, 0.1},
                                    {sd * (w + 0.14), L + 0.3, 0.1},
                                    {sd * (f.s.mouth_half_width + 0.06), f.s.mouth_y + 0.05, 0.1}});
    darken(f.canvas, stroke_stamp(f.canvas, smooth_curve(fold, false), 0.03, 0.04), 0.09);
  }
  darken(f.canvas, stroke_stamp(f.canvas, project(f, {{0, 0.1, 0.25}, {0, L - 0.06, 0.5}}), 0.05, 0.03), -0.12);
  darken(f.canvas, ellipse_stamp(f.canvas, f.at(0, L - 0.03, 0.55), 0.07, 0.05, 0, 0.03), -0.12);
  darken(f.canvas, ellipse_stamp(f.canvas, f.at(0, L + 0.16, 0.4), 0.15, 0.06, 0, 0.04), 0.3);
  const double philtrum = (f.lm[33].y + f.lm[51].y) / 2;
  darken(f.canvas, ellipse_stamp(f.canvas, f.at(0, philtrum, 0.35), 0.1, 0.07, 0, 0.05), 0.1);
}

void draw_mouth(Face& f) {
  const cv::Vec3f lips = f.look.lips;
  paint(f.canvas, fill_stamp(f.canvas, {f.curve({48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59}, true)}, 0.008), lips,
        0.92);
  Points upper = f.curve({48, 49, 50, 51, 52, 53, 54}, false), inner = f.curve({60, 61, 62, 63, 64}, false);
  upper.insert(upper.end(), inner.rbegin(), inner.rend());
  darken(f.canvas, fill_stamp(f.canvas, {upper}, 0.01), 0.16);
  if (f.s.mouth_open > 0.025) {
    const Stamp opening = fill_stamp(f.canvas, {f.curve({60, 61, 62, 63, 64, 65, 66, 67}, true)}, 0.005);
    paint(f.canvas, opening, rgb(60, 20, 22), 0.95);
    Stamp teeth = stroke_stamp(f.canvas, inner, f.s.mouth_open * 0.8, 0.004);
    intersect(teeth, opening);
    paint(f.canvas, teeth, rgb(228, 222, 208), 0.9);
  }
  paint(f.canvas, stroke_stamp(f.canvas, f.curve({48, 60, 61, 62, 63, 64, 54}, false), 0.022, 0.008), lips * 0.3f,
        0.85);
  darken(f.canvas, ellipse_stamp(f.canvas, f.at(0, (f.lm[66].y + f.lm[57].y) / 2, 0.35), 0.14, 0.035, 0, 0.03), -0.12);
  darken(f.canvas, ellipse_stamp(f.canvas, f.at(0, f.lm[57].y + 0.07, 0.3), 0.22, 0.05, 0, 0.04), 0.2);
  for (int k : {48, 54})
    darken(f.canvas, ellipse_stamp(f.canvas, f.p[static_cast<size_t>(k)], 0.025, 0.02, 0, 0.015), 0.35);
}

// The hair's outer edge, the skull's arch swollen by `volume` with `curls` as bumps, from the image's
// right (angle 0) over the crown to its left.
std::vector<FacePoint> hair_arch(const FaceShape& s, double volume, double curls) {
  std::vector<FacePoint> out;
  const double half_width = s.jaw_half_width * 1.02 * volume, height = (s.jaw_top + s.forehead + 0.85) * volume;
  for (int k = 0; k <= 32; ++k) {
    const double a = kPi * k / 32, bump = 1 + curls * std::abs(std::sin(9 * a));
    out.push_back({half_width * bump * std::cos(a), s.jaw_top - height * bump * std::sin(a), -0.8});
  }
  return out;
}

// Where the hair meets the forehead, left temple to right; a fringe hangs a zigzag above the brows.
std::vector<FacePoint> hairline(const FaceShape& s, bool fringe, double raise) {
  const double W = s.jaw_half_width, F = s.forehead + raise;
  std::vector<FacePoint> out{{-0.98 * W, s.jaw_top - 0.1, -0.6}, {-0.93 * W, -0.45, -0.3}};
  if (fringe) {
    for (int k = 0; k <= 10; ++k) out.push_back({-0.85 + 0.17 * k, -(s.brow_height + 0.13) - (k % 2) * 0.08, 0.1});
  } else {
    out.push_back({-0.72, -0.88 * F, 0});
    out.push_back({-0.35, -0.98 * F, 0.05});
    out.push_back({0, -F, 0.05});
    out.push_back({0.35, -0.98 * F, 0.05});
    out.push_back({0.72, -0.88 * F, 0});
  }
  out.push_back({0.93 * W, -0.45, -0.3});
  out.push_back({0.98 * W, s.jaw_top - 0.1, -0.6});
  return out;
}

// The outer edge of hair that falls past the ears to `bottom`: the right side from its tip up to the
// skull (3 points), then the left side from the skull down to its tip (3 points), rounded at the ends.
std::vector<FacePoint> falling_ends(const FaceShape& s, double bottom) {
  const double W = s.jaw_half_width, mid = (s.jaw_top + bottom) / 2;
  return {{W + 0.12, bottom + 0.06, -0.8}, {W + 0.3, bottom - 0.08, -0.8},    {W + 0.34, mid, -0.8},
          {-(W + 0.34), mid, -0.8},        {-(W + 0.3), bottom - 0.08, -0.8}, {-(W + 0.12), bottom + 0.06, -0.8}};
}

void draw_hair(Face& f, bool back, std::mt19937_64& rng) {
  const std::string& style = face_hair_styles()[static_cast<size_t>(f.look.hair_style)];
  const bool falls = style == "long" || style == "bob";
  if (back && !falls) return;
  const FaceShape& s = f.s;
  const double W = s.jaw_half_width, bottom = style == "long" ? s.chin + 0.5 : s.chin - 0.3;
  const double volume = style == "curly" ? 1.1 : style == "buzz" ? 1.015 : 1.06;
  std::vector<FacePoint> outline = hair_arch(s, volume, style == "curly" ? 0.05 : 0);
  const std::vector<FacePoint> ends = falls ? falling_ends(s, bottom) : std::vector<FacePoint>{};
  const auto right_end = ends.begin() + static_cast<std::ptrdiff_t>(ends.size() / 2);
  outline.insert(outline.end(), right_end, ends.end());  // down the left side
  if (back) {
    outline.insert(outline.end(), ends.begin(), right_end);  // and up the right
    paint(f.canvas, fill_stamp(f.canvas, {smooth_curve(project(f, outline), true, 3)}, 0.015), f.look.hair * 0.7f, 1,
          true);
    return;
  }
  const std::vector<FacePoint> line = hairline(s, style == "fringe", style == "buzz" ? 0.12 : 0);
  const Points edge = smooth_curve(project(f, line), false, 5);
  darken(f.canvas, stroke_stamp(f.canvas, edge, 0.1, 0.07), 0.22);  // the hair's shadow on the forehead
  if (falls) {
    // Locks down both sides of the face, outside its jaw line.
    const int last = style == "long" ? 6 : 4;
    auto outside = [&](int k) {
      const FacePoint q = f.lm[static_cast<size_t>(k)];
      return FacePoint{q.x * 1.05, q.y, q.z};
    };
    for (int k = last; k >= 0; --k) outline.push_back(outside(k));
    outline.insert(outline.end(), line.begin(), line.end());
    for (int k = 16; k >= 16 - last; --k) outline.push_back(outside(k));
    outline.insert(outline.end(), ends.begin(), right_end);
  } else {
    outline.insert(outline.end(), line.begin(), line.end());
  }
  const Stamp hair = fill_stamp(f.canvas, {project(f, outline)}, 0.01);
  paint(f.canvas, hair, f.look.hair, style == "buzz" ? 0.6 : 1, true);
  // Strands flowing from the crown, a sheen on top and shade along the hairline.
  const FacePoint crown{0, s.jaw_top - (s.jaw_top + s.forehead + 0.85) * 0.9, -0.3};
  const double length = style == "curly" ? 0.12 : style == "buzz" ? 0.06 : 0.3;
  for (int i = 0; i < 120; ++i) {
    const FacePoint q{uniform(rng, -W - 0.3, W + 0.3), uniform(rng, crown.y, bottom), -0.3};
    double dx = q.x - crown.x, dy = q.y - crown.y;
    const double n = std::hypot(dx, dy) + 1e-9, bend = uniform(rng, -0.4, 0.4);
    dx /= n;
    dy /= n;
    const Points strand = project(f, {{q.x - dx * length / 2, q.y - dy * length / 2, q.z},
                                      {q.x - dy * bend * length / 2, q.y + dx * bend * length / 2, q.z},
                                      {q.x + dx * length / 2, q.y + dy * length / 2, q.z}});
    Stamp st = stroke_stamp(f.canvas, smooth_curve(strand, false, 4), 0.015, 0.004);
    intersect(st, hair);
    const double tone = uniform(rng, 0.6, 1.45);
    cv::Vec3f c = f.look.hair * static_cast<float>(tone);
    for (int k = 0; k < 3; ++k) c[k] = std::min(c[k], 1.0f);
    paint(f.canvas, st, c, 0.6);
  }
  Stamp sheen = ellipse_stamp(f.canvas, f.at(0.3 * f.look.light, crown.y + 0.35, -0.3), 0.55, 0.16, 0, 0.1);
  intersect(sheen, hair);
  darken(f.canvas, sheen, -0.15);
  Stamp shade = stroke_stamp(f.canvas, edge, 0.12, 0.05);
  intersect(shade, hair);
  darken(f.canvas, shade, 0.25);
}

void draw_glasses(Face& f) {
  const double W = f.s.jaw_half_width;
  for (double sd : {-1.0, 1.0}) {
    std::vector<FacePoint> rim;  // a rounded rectangle (superellipse) around the eye
    for (int k = 0; k <= 32; ++k) {
      const double t = 2 * kPi * k / 32, c = std::cos(t), s = std::sin(t);
      rim.push_back({sd * 0.5 + 0.28 * std::copysign(std::pow(std::abs(c), 0.6), c),
                     -0.02 + 0.19 * std::copysign(std::pow(std::abs(s), 0.6), s), 0.15});
    }
    const Points lens = project(f, rim);
    darken(f.canvas, fill_stamp(f.canvas, {lens}, 0.005), -0.06);
    paint(f.canvas, stroke_stamp(f.canvas, lens, 0.035, 0.004), f.look.frame, 0.95);
    paint(f.canvas, stroke_stamp(f.canvas, project(f, {{sd * 0.78, -0.06, 0.1}, {sd * W, -0.02, -0.8}}), 0.03, 0.004),
          f.look.frame, 0.95);
  }
  const Points bridge = project(f, {{-0.23, -0.07, 0.25}, {0, -0.11, 0.3}, {0.23, -0.07, 0.25}});
  paint(f.canvas, stroke_stamp(f.canvas, smooth_curve(bridge, false), 0.03, 0.004), f.look.frame, 0.95);
}

}  // namespace

const std::vector<std::string>& face_hair_styles() {
  static const std::vector<std::string> names = {"short", "long", "bob", "fringe", "buzz", "curly"};
  return names;
}

FaceLook random_face_look(std::mt19937_64& rng, double glasses_probability) {
  FaceLook look;
  const auto pick = [&](size_t n) { return static_cast<size_t>(uniform_int(rng, 0, static_cast<int64_t>(n) - 1)); };
  const size_t tone = pick(kSkin.size() - 1);
  look.skin = mix(kSkin[tone], kSkin[tone + 1], uniform01(rng));
  for (int c = 0; c < 3; ++c) look.skin[c] *= static_cast<float>(uniform(rng, 0.96, 1.04));
  look.hair = kHair[pick(kHair.size())] * static_cast<float>(uniform(rng, 0.9, 1.1));
  look.iris = kIris[pick(kIris.size())];
  look.lips = mix(cv::Vec3f(look.skin[0] * 0.82f, look.skin[1] * 0.55f, look.skin[2] * 0.56f), rgb(170, 70, 80),
                  uniform(rng, 0.1, 0.4));
  look.clothing = rgb(uniform(rng, 20, 220), uniform(rng, 20, 220), uniform(rng, 20, 220));
  const std::array<cv::Vec3f, 3> frames{rgb(28, 26, 26), rgb(150, 140, 120), rgb(96, 54, 30)};
  look.frame = frames[pick(frames.size())];
  look.hair_style = static_cast<int>(pick(face_hair_styles().size()));
  look.glasses = uniform01(rng) < glasses_probability;
  look.light = uniform(rng, -1, 1);
  return look;
}

void draw_portrait(FaceCanvas& canvas, const FaceShape& shape, const FaceLook& look, std::mt19937_64& rng) {
  Face f{canvas, shape, look, face_landmarks(shape), {}};
  f.p = canvas.view(std::vector<FacePoint>(f.lm.begin(), f.lm.end()));
  draw_hair(f, true, rng);
  draw_body(f);
  draw_head(f);
  draw_nose(f);
  draw_mouth(f);
  draw_eyes(f);
  draw_brows(f);
  draw_hair(f, false, rng);
  if (look.glasses) draw_glasses(f);
}

}  // namespace loom::data

#include "data/synthetic/face_paint.h"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "data/synthetic/draw.h"

namespace loom::data {

namespace {

constexpr double kPi = 3.14159265358979323846;

// The canvas rectangle around `points` with room for a blur of `sigma` pixels and a stroke of `pad`.
cv::Rect bounds(const FaceCanvas& canvas, const std::vector<cv::Point2d>& points, double sigma, double pad) {
  double x0 = 1e30, y0 = 1e30, x1 = -1e30, y1 = -1e30;
  for (const auto& p : points) {
    x0 = std::min(x0, p.x);
    y0 = std::min(y0, p.y);
    x1 = std::max(x1, p.x);
    y1 = std::max(y1, p.y);
  }
  const double m = 3 * sigma + pad + 2;
  const cv::Rect r(cv::Point(static_cast<int>(std::floor(x0 - m)), static_cast<int>(std::floor(y0 - m))),
                   cv::Point(static_cast<int>(std::ceil(x1 + m)) + 1, static_cast<int>(std::ceil(y1 + m)) + 1));
  return r & cv::Rect(0, 0, canvas.colour.cols, canvas.colour.rows);
}

std::vector<cv::Point> shifted(const std::vector<cv::Point2d>& points, const cv::Rect& roi) {
  std::vector<cv::Point> out;
  for (const auto& p : points) out.push_back(subpixel(p.x - roi.x, p.y - roi.y));
  return out;
}

Stamp finish(cv::Mat1b coverage, const cv::Rect& roi, double sigma) {
  Stamp s{roi, {}};
  coverage.convertTo(s.mask, CV_32F, 1.0 / 255);
  if (sigma > 0.3) cv::GaussianBlur(s.mask, s.mask, cv::Size(), sigma);
  return s;
}

}  // namespace

FaceCanvas::FaceCanvas(int side, const FaceView& v)
    : colour(side, side, cv::Vec3f(0, 0, 0)), alpha(side, side, 0.0f), view(v) {}

Stamp fill_stamp(const FaceCanvas& canvas, const std::vector<std::vector<cv::Point2d>>& polygons, double blur) {
  std::vector<cv::Point2d> all;
  for (const auto& p : polygons) all.insert(all.end(), p.begin(), p.end());
  const double sigma = blur * canvas.view.unit;
  const cv::Rect roi = bounds(canvas, all, sigma, 0);
  cv::Mat1b coverage(std::max(roi.height, 1), std::max(roi.width, 1), uchar{0});
  std::vector<std::vector<cv::Point>> polys;
  for (const auto& p : polygons) polys.push_back(shifted(p, roi));
  fill_polygons(coverage, polys, cv::Scalar(255));
  return finish(coverage, roi, sigma);
}

Stamp stroke_stamp(const FaceCanvas& canvas, const std::vector<cv::Point2d>& line, double width, double blur) {
  const double sigma = blur * canvas.view.unit, w = width * canvas.view.unit;
  const cv::Rect roi = bounds(canvas, line, sigma, w);
  cv::Mat1b coverage(std::max(roi.height, 1), std::max(roi.width, 1), uchar{0});
  const std::vector<std::vector<cv::Point>> polys{shifted(line, roi)};
  cv::polylines(coverage, polys, false, cv::Scalar(255), std::max(1, static_cast<int>(std::lround(w))), cv::LINE_AA,
                kSubpixelBits);
  return finish(coverage, roi, sigma);
}

Stamp ellipse_stamp(const FaceCanvas& canvas, cv::Point2d centre, double rx, double ry, double angle, double blur) {
  const double u = canvas.view.unit;
  return fill_stamp(canvas, {ellipse_points(centre, rx * u, ry * u, angle)}, blur);
}

void intersect(Stamp& a, const Stamp& b) {
  for (int y = 0; y < a.roi.height; ++y)
    for (int x = 0; x < a.roi.width; ++x) {
      const cv::Point p(a.roi.x + x - b.roi.x, a.roi.y + y - b.roi.y);
      const bool inside = p.x >= 0 && p.y >= 0 && p.x < b.roi.width && p.y < b.roi.height;
      a.mask(y, x) *= inside ? b.mask(p.y, p.x) : 0.0f;
    }
}

void paint(FaceCanvas& canvas, const Stamp& stamp, const cv::Vec3f& rgb, double opacity, bool cover) {
  if (stamp.roi.empty()) return;
  cv::Mat3f c = canvas.colour(stamp.roi);
  cv::Mat1f a = canvas.alpha(stamp.roi);
  for (int y = 0; y < c.rows; ++y)
    for (int x = 0; x < c.cols; ++x) {
      const float m = stamp.mask(y, x) * static_cast<float>(opacity);
      if (m <= 0) continue;
      // Premultiplied by coverage: covering paints over, otherwise the colour changes, not the coverage.
      c(y, x) = c(y, x) * (1 - m) + rgb * (cover ? m : m * a(y, x));
      if (cover) a(y, x) += m * (1 - a(y, x));
    }
}

void darken(FaceCanvas& canvas, const Stamp& stamp, double amount) {
  if (stamp.roi.empty()) return;
  cv::Mat3f c = canvas.colour(stamp.roi);
  const cv::Mat1f a = canvas.alpha(stamp.roi);
  const auto k = static_cast<float>(amount);
  for (int y = 0; y < c.rows; ++y)
    for (int x = 0; x < c.cols; ++x) {
      const float m = stamp.mask(y, x);
      if (m <= 0) continue;
      cv::Vec3f& px = c(y, x);
      if (k >= 0)
        px *= 1 - k * m;
      else
        px += (cv::Vec3f(1, 1, 1) * a(y, x) - px) * (-k * m);  // towards white at the pixel's coverage
    }
}

std::vector<cv::Point2d> ellipse_points(cv::Point2d centre, double rx, double ry, double angle, int n) {
  std::vector<cv::Point2d> out;
  const double ca = std::cos(angle), sa = std::sin(angle);
  for (int k = 0; k < n; ++k) {
    const double t = 2 * kPi * k / n, x = rx * std::cos(t), y = ry * std::sin(t);
    out.emplace_back(centre.x + x * ca - y * sa, centre.y + x * sa + y * ca);
  }
  return out;
}

}  // namespace loom::data

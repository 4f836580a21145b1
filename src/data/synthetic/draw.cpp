#include "data/synthetic/draw.h"

#include <cmath>

#include <opencv2/imgproc.hpp>

namespace loom::data {

namespace {
constexpr double kScale = 1 << kSubpixelBits;
constexpr double kPi = 3.14159265358979323846;
}  // namespace

cv::Point subpixel(double x, double y) {
  return {static_cast<int>(std::lround(kScale * x)), static_cast<int>(std::lround(kScale * y))};
}

std::vector<cv::Point> star_polygon(double cx, double cy, int points, std::initializer_list<double> radii,
                                    double turn) {
  std::vector<double> r(radii);
  std::vector<cv::Point> out;
  for (int k = 0; k < points; ++k) {
    double a = turn + 2 * kPi * k / points;
    double rk = r[static_cast<size_t>(k) % r.size()];
    out.push_back(subpixel(cx + rk * std::cos(a), cy + rk * std::sin(a)));
  }
  return out;
}

std::vector<cv::Point> rect_polygon(double cx, double cy, double w, double h, double turn) {
  std::vector<cv::Point> out;
  for (auto [sx, sy] : {std::pair{-1, -1}, {1, -1}, {1, 1}, {-1, 1}}) {
    double x = sx * w / 2, y = sy * h / 2;
    out.push_back(subpixel(cx + x * std::cos(turn) - y * std::sin(turn), cy + x * std::sin(turn) + y * std::cos(turn)));
  }
  return out;
}

void fill_polygons(cv::Mat& img, const std::vector<std::vector<cv::Point>>& polygons, const cv::Scalar& colour) {
  cv::fillPoly(img, polygons, colour, cv::LINE_AA, kSubpixelBits);
}

void draw_circle(cv::Mat& img, double cx, double cy, double r, const cv::Scalar& colour, int thickness) {
  // cvRound (half to even), not lround: the quickstart's images were generated this way.
  cv::circle(img, cv::Point(cvRound(kScale * cx), cvRound(kScale * cy)), cvRound(kScale * r), colour,
             thickness < 0 ? cv::FILLED : thickness, cv::LINE_AA, kSubpixelBits);
}

}  // namespace loom::data

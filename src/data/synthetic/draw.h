#pragma once
// Drawing primitives shared by the synthetic datasets: filled polygons with anti-aliased edges at
// sub-pixel precision, so that shapes a few pixels wide keep their form.
#include <initializer_list>
#include <vector>

#include <opencv2/core/mat.hpp>

namespace loom::data {

// Vertices carry this many fractional bits (what fill_polygons and the cv:: calls below are given).
constexpr int kSubpixelBits = 4;

// (x, y) in pixels as a sub-pixel point.
cv::Point subpixel(double x, double y);

// A polygon of `points` vertices at radii cycling through `radii`, around (cx, cy), the first at angle
// `turn` (radians): {r} gives a regular polygon, {r, r'} a star.
std::vector<cv::Point> star_polygon(double cx, double cy, int points, std::initializer_list<double> radii, double turn);

// A w x h rectangle centred on (cx, cy), turned by `turn` radians.
std::vector<cv::Point> rect_polygon(double cx, double cy, double w, double h, double turn);

// Fills the polygons (even-odd rule where they overlap) with anti-aliased edges.
void fill_polygons(cv::Mat& img, const std::vector<std::vector<cv::Point>>& polygons, const cv::Scalar& colour);

// A filled disc, or a ring of the given stroke width when thickness > 0.
void draw_circle(cv::Mat& img, double cx, double cy, double r, const cv::Scalar& colour, int thickness = -1);

}  // namespace loom::data

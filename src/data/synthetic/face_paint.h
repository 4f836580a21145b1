#pragma once
// The painting layer of the synthetic faces: a supersampled float canvas (colour and coverage) in the
// face's upright drawing frame, and soft-edged masks ("stamps") over parts of it that fill, darken
// or lighten the colour below them. Shading is built from blurred stamps: soft gradients, not edges.
#include <vector>

#include <opencv2/core/mat.hpp>
#include <opencv2/core/types.hpp>

#include "data/synthetic/face_geometry.h"

namespace loom::data {

struct FaceCanvas {
  cv::Mat3f colour;  // RGB in [0, 1], premultiplied by the coverage
  cv::Mat1f alpha;   // coverage in [0, 1]
  FaceView view;     // face frame -> canvas pixels
  FaceCanvas(int side, const FaceView& view);
  cv::Point2d at(double x, double y, double z = 0) const { return view({x, y, z}); }
};

// Coverage in [0, 1] over `roi` of a canvas.
struct Stamp {
  cv::Rect roi;
  cv::Mat1f mask;
};

// Filled polygons (canvas pixels), their edges blurred by `blur` face units.
Stamp fill_stamp(const FaceCanvas& canvas, const std::vector<std::vector<cv::Point2d>>& polygons, double blur = 0);
// A polyline `width` face units wide.
Stamp stroke_stamp(const FaceCanvas& canvas, const std::vector<cv::Point2d>& line, double width, double blur = 0);
// An ellipse with radii (rx, ry) face units, turned by `angle` radians, around a canvas point.
Stamp ellipse_stamp(const FaceCanvas& canvas, cv::Point2d centre, double rx, double ry, double angle, double blur = 0);
// a's coverage times b's (b is zero outside its roi).
void intersect(Stamp& a, const Stamp& b);

// Blends `rgb` (0..1) in through the stamp at `opacity`; with `cover`, the canvas coverage rises too.
void paint(FaceCanvas& canvas, const Stamp& stamp, const cv::Vec3f& rgb, double opacity = 1, bool cover = false);
// Multiplies the colour by 1 - amount * coverage; a negative amount lightens towards white instead.
void darken(FaceCanvas& canvas, const Stamp& stamp, double amount);

// A closed polygon of `n` points on an ellipse (canvas pixels).
std::vector<cv::Point2d> ellipse_points(cv::Point2d centre, double rx, double ry, double angle, int n = 40);

}  // namespace loom::data

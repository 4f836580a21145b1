#include "data/synthetic/shapes.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include <opencv2/imgproc.hpp>

#include "core/error.h"
#include "core/log.h"
#include "core/text/cat.h"
#include "data/random.h"
#include "data/synthetic/draw.h"
#include "data/synthetic/generated_folder.h"

namespace loom::data {

namespace fs = std::filesystem;

namespace {

constexpr double kPi = 3.14159265358979323846;

cv::Scalar random_colour(std::mt19937_64& rng) {
  return cv::Scalar(uniform_int(rng, 0, 255), uniform_int(rng, 0, 255), uniform_int(rng, 0, 255));
}

double luminance(const cv::Scalar& c) { return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]; }

std::string stamp_text(const ShapesSpec& spec) {
  return cat("synthetic_shapes v1 split=", spec.split, " images_per_class=", spec.images_per_class,
             " image_size=", spec.image_size, " seed=", spec.seed, "\n");
}

}  // namespace

const std::vector<std::string>& shape_classes() {
  // Sorted, so that the image folder's labels (sorted subfolder names) are these indices.
  static const std::vector<std::string> names = {"circle", "cross",  "diamond", "ellipse",  "hbar",
                                                 "ring",   "square", "star",    "triangle", "vbar"};
  return names;
}

cv::Mat draw_shape(int label, int size, std::mt19937_64& rng) {
  const double s = size;
  // Background: a gradient between two colours in a random direction, plus pixel noise.
  cv::Scalar c0 = random_colour(rng), c1 = random_colour(rng);
  double direction = uniform(rng, 0, 2 * kPi), dx = std::cos(direction), dy = std::sin(direction);
  cv::Mat img(size, size, CV_8UC3);
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x) {
      double t = 0.5 + ((x - s / 2) * dx + (y - s / 2) * dy) / s;
      auto& px = img.at<cv::Vec3b>(y, x);
      for (int c = 0; c < 3; ++c)
        px[c] = cv::saturate_cast<uchar>(c0[c] + (c1[c] - c0[c]) * t + static_cast<double>(uniform_int(rng, -12, 12)));
    }
  // The shape's colour stands out from the background's average brightness.
  const double background = luminance((c0 + c1) * 0.5);
  cv::Scalar colour = random_colour(rng);
  for (int tries = 0; tries < 16 && std::abs(luminance(colour) - background) < 70; ++tries) colour = random_colour(rng);

  const double r = s * uniform(rng, 0.22, 0.36);
  const double cx = uniform(rng, r, s - r), cy = uniform(rng, r, s - r);
  const double tilt = uniform(rng, -0.25, 0.25);  // orientation-defined classes stay near upright
  const double spin = uniform(rng, 0, 2 * kPi);
  switch (label) {
    case 0:
      draw_circle(img, cx, cy, r, colour);
      break;
    case 1:  // two fills: one fillPoly call would leave the overlap empty (even-odd rule)
      fill_polygons(img, {rect_polygon(cx, cy, 2 * r, 0.55 * r, tilt)}, colour);
      fill_polygons(img, {rect_polygon(cx, cy, 0.55 * r, 2 * r, tilt)}, colour);
      break;
    case 2:
      fill_polygons(img, {rect_polygon(cx, cy, 1.35 * r, 1.35 * r, kPi / 4 + tilt)}, colour);
      break;
    case 3:
      cv::ellipse(img, cv::Point(cvRound(16 * cx), cvRound(16 * cy)), cv::Size(cvRound(16 * r), cvRound(16 * 0.5 * r)),
                  spin * 180 / kPi, 0, 360, colour, cv::FILLED, cv::LINE_AA, 4);
      break;
    case 4:
      fill_polygons(img, {rect_polygon(cx, cy, 2 * r, 0.5 * r, tilt)}, colour);
      break;
    case 5:
      draw_circle(img, cx, cy, 0.8 * r, colour, std::max(2, static_cast<int>(std::lround(0.4 * r))));
      break;
    case 6:
      fill_polygons(img, {rect_polygon(cx, cy, 1.5 * r, 1.5 * r, tilt)}, colour);
      break;
    case 7:
      fill_polygons(img, {star_polygon(cx, cy, 10, {r, 0.45 * r}, spin)}, colour);
      break;
    case 8:
      fill_polygons(img, {star_polygon(cx, cy, 3, {r}, spin)}, colour);
      break;
    case 9:
      fill_polygons(img, {rect_polygon(cx, cy, 0.5 * r, 2 * r, tilt)}, colour);
      break;
    default:
      throw std::invalid_argument(cat("draw_shape: no shape class ", label));
  }
  cv::Mat rgb;
  cv::cvtColor(img, rgb, cv::COLOR_BGR2RGB);  // drawn as BGR like every cv::Mat; returned as RGB
  return rgb;
}

void materialize_shapes(const std::string& dir, const ShapesSpec& spec) {
  if (generated_folder_ready(dir, stamp_text(spec))) return;
  LOOM_INFO("generating synthetic shapes (", spec.split, ", ", spec.images_per_class, " per class, ", spec.image_size,
            "px) in ", dir);
  generate_folder(dir, stamp_text(spec), [&](const fs::path& tmp) {
    const uint64_t split_id = spec.split == "train" ? 0 : 1;
    const auto& classes = shape_classes();
    for (size_t label = 0; label < classes.size(); ++label) {
      fs::create_directories(tmp / classes[label]);
      for (int64_t i = 0; i < spec.images_per_class; ++i) {
        std::mt19937_64 rng(mix_seed({spec.seed, split_id, label, static_cast<uint64_t>(i)}));
        cv::Mat bgr;
        cv::cvtColor(draw_shape(static_cast<int>(label), static_cast<int>(spec.image_size), rng), bgr,
                     cv::COLOR_RGB2BGR);
        char name[32];
        std::snprintf(name, sizeof name, "%05lld.png", static_cast<long long>(i));
        write_generated_png(tmp / classes[label] / name, bgr);
      }
    }
  });
}

SyntheticShapes::SyntheticShapes(const SyntheticShapesOptions& options, const std::string& path)
    : ImageFolder(
          [&] {
            ShapesSpec spec{options.split == "train" ? options.images_per_class : options.val_images_per_class,
                            options.image_size, static_cast<uint64_t>(options.seed), options.split};
            std::string dir = (fs::path(options.root) / options.split).string();
            materialize_shapes(dir, spec);
            ImageFolderOptions folder;
            folder.root = dir;
            folder.class_subfolders = "true";
            folder.extensions = {"png"};
            folder.transforms = options.transforms;
            return folder;
          }(),
          path),
      split_(options.split) {}

std::string SyntheticShapes::describe() const {
  return cat("synthetic_shapes ", split_, " ", ImageFolder::describe().substr(std::string("image_folder ").size()));
}

}  // namespace loom::data

#include "data/synthetic/face_styles.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <random>
#include <stdexcept>

#include <opencv2/imgproc.hpp>

#include "core/text/cat.h"
#include "core/text/join.h"
#include "data/random.h"

namespace loom::data {

namespace {

constexpr double kPi = 3.14159265358979323846;

// Zero-mean noise of unit spread, smoothed over `blur` pixels (drawn from rng, not cv::theRNG, which is
// shared between threads).
cv::Mat1f noise(cv::Size size, std::mt19937_64& rng, double blur) {
  cv::Mat1f n(size);
  for (float& v : n) v = static_cast<float>(uniform(rng, -1, 1));
  if (blur > 0.3) cv::GaussianBlur(n, n, cv::Size(), blur);
  cv::Scalar mean, spread;
  cv::meanStdDev(n, mean, spread);
  n = (n - mean[0]) / std::max(spread[0], 1e-6);
  return n;
}

// Noise smeared along a direction: the texture of strokes `length` pixels long at `angle` radians.
cv::Mat1f strokes(cv::Size size, std::mt19937_64& rng, double angle, int length) {
  cv::Mat1f kernel(length, length, 0.0f);
  const cv::Point2d c((length - 1) / 2.0, (length - 1) / 2.0), d(std::cos(angle), std::sin(angle));
  cv::line(kernel, c - d * (length / 2.0), c + d * (length / 2.0), cv::Scalar(1), 1, cv::LINE_AA);
  kernel /= cv::sum(kernel)[0];
  cv::Mat1f out;
  cv::filter2D(noise(size, rng, 0), out, -1, kernel, cv::Point(-1, -1), 0, cv::BORDER_REFLECT);
  cv::Scalar mean, spread;
  cv::meanStdDev(out, mean, spread);
  return (out - mean[0]) / std::max(spread[0], 1e-6);
}

cv::Mat1f grey_of(const cv::Mat& rgb) {
  cv::Mat g;
  cv::cvtColor(rgb, g, cv::COLOR_RGB2GRAY);
  cv::Mat1f out;
  g.convertTo(out, CV_32F, 1.0 / 255);
  return out;
}

// Paper: a warm off-white with fibres (fine grain) and cockling (broad, faint blotches).
cv::Mat3f paper(cv::Size size, std::mt19937_64& rng) {
  const cv::Vec3f tint(static_cast<float>(uniform(rng, 0.95, 0.99)), static_cast<float>(uniform(rng, 0.93, 0.97)),
                       static_cast<float>(uniform(rng, 0.86, 0.93)));
  const cv::Mat1f fine = noise(size, rng, 0.6), broad = noise(size, rng, size.width / 12.0);
  cv::Mat3f out(size);
  for (int y = 0; y < size.height; ++y)
    for (int x = 0; x < size.width; ++x) out(y, x) = tint * (1 - 0.025f * fine(y, x) - 0.02f * broad(y, x));
  return out;
}

cv::Mat to_rgb8(const cv::Mat3f& rgb) {
  cv::Mat out;
  rgb.convertTo(out, CV_8UC3, 255);
  return out;
}

int odd(double v) { return std::max(3, static_cast<int>(std::lround(v)) | 1); }

// Flat colour regions: brightness cut to `levels` steps, hue and saturation to coarser ones of their
// own, so that quantising does not turn skin green (as per-channel steps would).
cv::Mat quantise(const cv::Mat& rgb, int levels, double chroma_step) {
  cv::Mat ycc;
  cv::cvtColor(rgb, ycc, cv::COLOR_RGB2YCrCb);
  for (auto& px : cv::Mat_<cv::Vec3b>(ycc)) {
    px[0] = cv::saturate_cast<uchar>(255 * std::round(px[0] / 255.0 * (levels - 1)) / (levels - 1));
    for (int k = 1; k < 3; ++k)
      px[k] = cv::saturate_cast<uchar>(128 + chroma_step * std::round((px[k] - 128) / chroma_step));
  }
  cv::Mat out;
  cv::cvtColor(ycc, out, cv::COLOR_YCrCb2RGB);
  return out;
}

cv::Mat pencil_sketch(const cv::Mat& image, std::mt19937_64& rng) {
  const cv::Size size = image.size();
  const cv::Mat1f grey = grey_of(image);
  // Colour dodge of the grey by its blurred negative: flat areas go white, edges stay as pencil lines.
  cv::Mat1f blurred;
  cv::GaussianBlur(1 - grey, blurred, cv::Size(), size.width * uniform(rng, 0.012, 0.025));
  const double gamma = uniform(rng, 1.6, 2.6), hatching = uniform(rng, 0.25, 0.5);
  const cv::Mat1f hatch = strokes(size, rng, uniform(rng, 0.5, 1.2), odd(size.width / 22.0));
  const cv::Mat3f sheet = paper(size, rng);
  cv::Mat3f out(size);
  for (int y = 0; y < size.height; ++y)
    for (int x = 0; x < size.width; ++x) {
      const double dodge = std::min(1.0, grey(y, x) / std::max(1e-3, 1.0 - blurred(y, x)));
      double tone = std::pow(dodge, gamma);
      // Shading as hatching: darker tones get stronger strokes.
      tone -= hatching * (1 - tone) * (0.5 + 0.35 * hatch(y, x));
      out(y, x) = sheet(y, x) * static_cast<float>(std::clamp(tone, 0.0, 1.0));
    }
  return to_rgb8(out);
}

cv::Mat posterised_paint(const cv::Mat& image, std::mt19937_64& rng) {
  const cv::Size size = image.size();
  cv::Mat smooth = image.clone(), tmp;
  const int passes = static_cast<int>(uniform_int(rng, 2, 3));
  for (int i = 0; i < passes; ++i) {
    cv::bilateralFilter(smooth, tmp, odd(size.width / 28.0), uniform(rng, 25, 45), size.width / 40.0);
    std::swap(smooth, tmp);  // distinct buffers: the filter cannot work in place
  }
  cv::medianBlur(smooth, smooth, odd(size.width / 64.0));
  const double saturation = uniform(rng, 1.0, 1.35), texture = uniform(rng, 0.04, 0.08);
  const cv::Mat flat = quantise(smooth, static_cast<int>(uniform_int(rng, 5, 8)), uniform(rng, 6, 10));
  const cv::Mat1f brush = strokes(size, rng, uniform(rng, 0, kPi), odd(size.width / 16.0));
  cv::Mat3f out(size);
  for (int y = 0; y < size.height; ++y)
    for (int x = 0; x < size.width; ++x) {
      const cv::Vec3b px = flat.at<cv::Vec3b>(y, x);
      cv::Vec3f v(px[0] / 255.0f, px[1] / 255.0f, px[2] / 255.0f);
      const float mean = (v[0] + v[1] + v[2]) / 3;
      for (int k = 0; k < 3; ++k) {
        const double boosted = mean + (v[k] - mean) * saturation;
        v[k] = static_cast<float>(std::clamp(boosted * (1 + texture * brush(y, x)), 0.0, 1.0));
      }
      out(y, x) = v;
    }
  return to_rgb8(out);
}

cv::Mat colour_ink(const cv::Mat& image, std::mt19937_64& rng) {
  const cv::Size size = image.size();
  // Ink where a pixel is darker than its neighbourhood: outlines and creases, not flat shading.
  cv::Mat grey, ink8;
  cv::cvtColor(image, grey, cv::COLOR_RGB2GRAY);
  cv::medianBlur(grey, grey, 5);
  cv::adaptiveThreshold(grey, ink8, 255, cv::ADAPTIVE_THRESH_MEAN_C, cv::THRESH_BINARY_INV, odd(size.width / 25.0),
                        uniform(rng, 5, 9));
  cv::Mat1f ink;
  ink8.convertTo(ink, CV_32F, 1.0 / 255);
  cv::GaussianBlur(ink, ink, cv::Size(), 0.7);
  // Washes: the colours smoothed flat, few levels, thinned towards the paper, pooled at their edges.
  cv::Mat smooth;
  cv::bilateralFilter(image, smooth, odd(size.width / 25.0), 50, size.width / 30.0);
  cv::GaussianBlur(smooth, smooth, cv::Size(), size.width / 120.0);
  const cv::Mat flat = quantise(smooth, static_cast<int>(uniform_int(rng, 3, 5)), uniform(rng, 8, 14));
  cv::Mat edges;
  cv::morphologyEx(flat, edges, cv::MORPH_GRADIENT, cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(3, 3)));
  const double strength = uniform(rng, 0.55, 0.8);
  const std::array<cv::Vec3f, 3> inks{cv::Vec3f(0.06f, 0.05f, 0.05f), cv::Vec3f(0.22f, 0.12f, 0.06f),
                                      cv::Vec3f(0.08f, 0.1f, 0.22f)};
  const cv::Vec3f pen = inks[static_cast<size_t>(uniform_int(rng, 0, 2))];
  const cv::Mat3f sheet = paper(size, rng);
  cv::Mat3f out(size);
  for (int y = 0; y < size.height; ++y)
    for (int x = 0; x < size.width; ++x) {
      const cv::Vec3b f = flat.at<cv::Vec3b>(y, x), e = edges.at<cv::Vec3b>(y, x);
      const float pool = 1 - 0.2f * (e[0] + e[1] + e[2]) / (3 * 255.0f);
      cv::Vec3f wash;
      for (int k = 0; k < 3; ++k)
        wash[k] = sheet(y, x)[k] * (1 - static_cast<float>(strength) * (1 - f[k] / 255.0f)) * pool;
      const float m = 0.92f * ink(y, x);
      out(y, x) = wash * (1 - m) + pen * m;
    }
  return to_rgb8(out);
}

}  // namespace

const std::vector<std::string>& face_style_names() {
  static const std::vector<std::string> names = {"pencil_sketch", "posterised_paint", "colour_ink"};
  return names;
}

cv::Mat stylise_face(const cv::Mat& image, const std::string& style, uint64_t seed) {
  if (image.empty() || image.type() != CV_8UC3) throw std::invalid_argument("stylise_face: needs a uint8 RGB image");
  std::mt19937_64 rng(mix_seed({seed, 0x7374796c65}));
  if (style == "pencil_sketch") return pencil_sketch(image, rng);
  if (style == "posterised_paint") return posterised_paint(image, rng);
  if (style == "colour_ink") return colour_ink(image, rng);
  throw std::invalid_argument(cat("no face style '", style, "' (styles: ", join(face_style_names(), ", "), ")"));
}

}  // namespace loom::data

#include "data/pil_resize.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <stdexcept>
#include <vector>

#include "core/text/cat.h"

namespace loom::data {

namespace {

// The filters of Resample.c, evaluated in double exactly as Pillow writes them: the weights' last bits
// decide how the fixed-point rounding below falls, so the expressions keep Pillow's order.
double box_weight(double x) { return x > -0.5 && x <= 0.5 ? 1.0 : 0.0; }

double bilinear_weight(double x) {
  x = std::fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

double hamming_weight(double x) {
  x = std::fabs(x);
  if (x == 0.0) return 1.0;
  if (x >= 1.0) return 0.0;
  x *= std::numbers::pi;
  // Pillow spells the window's constants as float literals: their float values are part of the weight.
  return std::sin(x) / x * (static_cast<double>(0.54f) + static_cast<double>(0.46f) * std::cos(x));
}

double bicubic_weight(double x) {  // Keys' cubic convolution, a = -0.5
  constexpr double a = -0.5;
  x = std::fabs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

double sinc(double x) {
  if (x == 0.0) return 1.0;
  x *= std::numbers::pi;
  return std::sin(x) / x;
}

double lanczos_weight(double x) { return -3.0 <= x && x < 3.0 ? sinc(x) * sinc(x / 3) : 0.0; }

struct Filter {
  double (*weight)(double);
  double support;  // half-width in input pixels at scale 1
};

Filter filter_of(PilFilter f) {
  switch (f) {
    case PilFilter::box:
      return {box_weight, 0.5};
    case PilFilter::bilinear:
      return {bilinear_weight, 1.0};
    case PilFilter::hamming:
      return {hamming_weight, 1.0};
    case PilFilter::bicubic:
      return {bicubic_weight, 2.0};
    case PilFilter::lanczos:
      return {lanczos_weight, 3.0};
    case PilFilter::nearest:
      break;
  }
  throw std::invalid_argument("pil_resize: nearest has no filter kernel");
}

// Resample.c PRECISION_BITS: weights carry 22 fractional bits, leaving 8 for the value and 2 of headroom
// for filters whose partial sums leave [0, 1].
constexpr int kPrecisionBits = 32 - 8 - 2;
constexpr int32_t kHalf = int32_t{1} << (kPrecisionBits - 1);

// A fixed-point sum back to 8 bits: the arithmetic shift floors (C++20), as Pillow's clip8 lookup.
inline uint8_t clip8(int32_t sum) { return static_cast<uint8_t>(std::clamp(sum >> kPrecisionBits, 0, 255)); }

// Per output pixel of one axis: the first input pixel it reads, how many, and their fixed-point weights
// (`taps` per output pixel, the unused ones zero).
struct Coefficients {
  int taps = 0;
  std::vector<int> first, count;
  std::vector<int32_t> weights;
};

// Resample.c precompute_coeffs then normalize_coeffs_8bpc, for the whole axis as the box (PIL's default
// box (0, 0, width, height): its float coordinates are exact integers here).
Coefficients coefficients(int in_size, int out_size, const Filter& filter) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double filterscale = std::max(scale, 1.0);  // downscaling widens the filter: the antialiasing
  const double support = filter.support * filterscale;
  const double inv_filterscale = 1.0 / filterscale;
  Coefficients c;
  c.taps = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.first.resize(static_cast<size_t>(out_size));
  c.count.resize(static_cast<size_t>(out_size));
  c.weights.assign(static_cast<size_t>(out_size) * static_cast<size_t>(c.taps), 0);
  std::vector<double> w(static_cast<size_t>(c.taps));
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = (xx + 0.5) * scale;
    // Pillow rounds the window's ends by truncating +0.5 (toward zero), then clamps to the image.
    const int lo = std::max(static_cast<int>(center - support + 0.5), 0);
    const int hi = std::min(static_cast<int>(center + support + 0.5), in_size);
    const int n = hi - lo;
    double total = 0.0;
    for (int x = 0; x < n; ++x) {
      w[static_cast<size_t>(x)] = filter.weight((static_cast<double>(x + lo) - center + 0.5) * inv_filterscale);
      total += w[static_cast<size_t>(x)];
    }
    int32_t* k = &c.weights[static_cast<size_t>(xx) * static_cast<size_t>(c.taps)];
    for (int x = 0; x < n; ++x) {
      const double v =
          (total != 0.0 ? w[static_cast<size_t>(x)] / total : w[static_cast<size_t>(x)]) * (1 << kPrecisionBits);
      k[x] = static_cast<int32_t>(v < 0 ? v - 0.5 : v + 0.5);  // rounded half away from zero
    }
    c.first[static_cast<size_t>(xx)] = lo;
    c.count[static_cast<size_t>(xx)] = n;
  }
  return c;
}

// Resample.c ImagingResampleHorizontal_8bpc over rows row0.. of `in` into `out` (out.rows rows).
template <int C>
void resample_horizontal(const cv::Mat& in, int row0, const Coefficients& k, cv::Mat& out) {
  for (int y = 0; y < out.rows; ++y) {
    const uint8_t* src = in.ptr<uint8_t>(row0 + y);
    uint8_t* dst = out.ptr<uint8_t>(y);
    for (int xx = 0; xx < out.cols; ++xx, dst += C) {
      const int32_t* w = &k.weights[static_cast<size_t>(xx) * static_cast<size_t>(k.taps)];
      const uint8_t* s = src + static_cast<ptrdiff_t>(k.first[static_cast<size_t>(xx)]) * C;
      int32_t sum[C];
      for (int ch = 0; ch < C; ++ch) sum[ch] = kHalf;
      for (int t = 0, n = k.count[static_cast<size_t>(xx)]; t < n; ++t, s += C)
        for (int ch = 0; ch < C; ++ch) sum[ch] += s[ch] * w[t];
      for (int ch = 0; ch < C; ++ch) dst[ch] = clip8(sum[ch]);
    }
  }
}

// Resample.c ImagingResampleVertical_8bpc; `offset` is the input row of in's first row (the horizontal
// pass only made the rows the vertical filter reads). Whole rows are accumulated at once: the integer
// sums are the same in any order, and a row at a time vectorises.
void resample_vertical(const cv::Mat& in, int offset, const Coefficients& k, cv::Mat& out) {
  const size_t width = static_cast<size_t>(out.cols) * static_cast<size_t>(out.channels());
  std::vector<int32_t> sum(width);
  for (int yy = 0; yy < out.rows; ++yy) {
    std::fill(sum.begin(), sum.end(), kHalf);
    const int32_t* w = &k.weights[static_cast<size_t>(yy) * static_cast<size_t>(k.taps)];
    const int first = k.first[static_cast<size_t>(yy)] - offset;
    for (int t = 0, n = k.count[static_cast<size_t>(yy)]; t < n; ++t) {
      const uint8_t* src = in.ptr<uint8_t>(first + t);
      const int32_t weight = w[t];
      for (size_t i = 0; i < width; ++i) sum[i] += src[i] * weight;
    }
    uint8_t* dst = out.ptr<uint8_t>(yy);
    for (size_t i = 0; i < width; ++i) dst[i] = clip8(sum[i]);
  }
}

// _imaging.c _resize with NEAREST: an affine scale through Geometry.c ImagingScaleAffine. Output pixel x
// reads input column (int)(a / 2 + x * a), a = width / out_width, the position accumulated by repeated
// addition as Pillow does (its rounding decides which of two columns a position near a boundary takes);
// positions off the image (never reached for a plain resize) stay 0 as Pillow's fill.
cv::Mat resize_nearest(const cv::Mat& in, cv::Size size) {
  const double ax = static_cast<double>(in.cols) / size.width, ay = static_cast<double>(in.rows) / size.height;
  const int channels = in.channels();
  std::vector<int> columns(static_cast<size_t>(size.width));
  double xo = ax * 0.5;
  for (int& column : columns) {
    column = static_cast<int>(xo);
    xo += ax;
  }
  cv::Mat out(size, in.type(), cv::Scalar::all(0));
  double yo = ay * 0.5;
  for (int y = 0; y < size.height; ++y, yo += ay) {
    const int yi = static_cast<int>(yo);
    if (yi >= in.rows) continue;
    const uint8_t* src = in.ptr<uint8_t>(yi);
    uint8_t* dst = out.ptr<uint8_t>(y);
    for (int x = 0; x < size.width; ++x) {
      const int xi = columns[static_cast<size_t>(x)];
      if (xi >= in.cols) continue;
      for (int ch = 0; ch < channels; ++ch) dst[x * channels + ch] = src[xi * channels + ch];
    }
  }
  return out;
}

}  // namespace

cv::Mat pil_resize(const cv::Mat& image, cv::Size size, PilFilter filter) {
  if (image.depth() != CV_8U || (image.channels() != 1 && image.channels() != 3) || image.dims != 2)
    throw std::invalid_argument(
        cat("pil_resize: expected an 8-bit image with 1 or 3 channels, got OpenCV type ", image.type()));
  if (image.empty() || size.width < 1 || size.height < 1)
    throw std::invalid_argument(
        cat("pil_resize: cannot resize ", image.cols, "x", image.rows, " to ", size.width, "x", size.height));
  // Image.resize: the same size is a copy; one side the same skips that side's pass (ImagingResampleInner).
  if (size == image.size()) return image.clone();
  if (filter == PilFilter::nearest) return resize_nearest(image, size);

  const Filter f = filter_of(filter);
  const auto horizontal = [&](const cv::Mat& in, int row0, cv::Mat& out) {
    const Coefficients kx = coefficients(image.cols, size.width, f);
    if (image.channels() == 3)
      resample_horizontal<3>(in, row0, kx, out);
    else
      resample_horizontal<1>(in, row0, kx, out);
  };
  cv::Mat out(size, image.type());
  if (size.height == image.rows) {
    horizontal(image, 0, out);
    return out;
  }
  const Coefficients ky = coefficients(image.rows, size.height, f);
  if (size.width == image.cols) {
    resample_vertical(image, 0, ky, out);
    return out;
  }
  // Pillow 13 (python-pillow/Pillow#9549) runs the vertical pass first when the height shrinks by more than
  // twice as many pixels as the width; the passes round to 8 bits in between, so the order shows in the
  // result (Pillow 12 always went horizontal first: up to a few levels apart on such sizes).
  if (size.height < image.rows && image.rows - size.height > 2 * (image.cols - size.width)) {
    cv::Mat shortened(size.height, image.cols, image.type());
    resample_vertical(image, 0, ky, shortened);
    horizontal(shortened, 0, out);
    return out;
  }
  // Horizontal first, over only the rows the vertical pass reads (ImagingResampleInner's ybox).
  const int row0 = ky.first.front(), rows = ky.first.back() + ky.count.back() - row0;
  cv::Mat narrowed(rows, size.width, image.type());
  horizontal(image, row0, narrowed);
  resample_vertical(narrowed, row0, ky, out);
  return out;
}

}  // namespace loom::data

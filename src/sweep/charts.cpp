#include "sweep/charts.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <ostream>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/error.h"
#include "core/io/file_system.h"
#include "core/text/cat.h"
#include "core/text/with_commas.h"

namespace loom::sweep {

namespace {

const cv::Scalar kInk(64, 64, 64), kGrid(228, 228, 228), kWhite(255, 255, 255);
constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;
constexpr double kText = 0.5, kTitle = 0.7;
constexpr double kInf = std::numeric_limits<double>::infinity(), kMax = std::numeric_limits<double>::max();

// matplotlib's tab10, so that charts look like the ones people know; OpenCV wants BGR.
cv::Scalar tab10(size_t i) {
  static const int rgb[10][3] = {{31, 119, 180}, {255, 127, 14},  {44, 160, 44},   {214, 39, 40},  {148, 103, 189},
                                 {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207}};
  const int* c = rgb[i % 10];
  return cv::Scalar(c[2], c[1], c[0]);
}

int text_width(const std::string& s, double scale) {
  int baseline = 0;
  return cv::getTextSize(s, kFont, scale, 1, &baseline).width;
}

// `s` shortened in the middle ("loss.na...=true") to at most `max_px`: the two ends of override strings
// are what tells jobs apart.
std::string fit(const std::string& s, double scale, int max_px) {
  if (text_width(s, scale) <= max_px) return s;
  for (size_t keep = s.size(); keep-- > 0;) {
    std::string shorter = s.substr(0, (keep + 1) / 2) + "..." + s.substr(s.size() - keep / 2);
    if (text_width(shorter, scale) <= max_px) return shorter;
  }
  return "";
}

enum class Align { left, center, right };

// `s` with its baseline at `y`, aligned at `x`.
void text(cv::Mat& img, const std::string& s, int x, int y, double scale, Align align = Align::left) {
  const int w = text_width(s, scale);
  x -= align == Align::center ? w / 2 : align == Align::right ? w : 0;
  cv::putText(img, s, {x, y}, kFont, scale, kInk, 1, cv::LINE_AA);
}

// `s` reading bottom to top, centred on column `cx`, its end at row `top`. OpenCV draws only horizontal
// text: it is drawn on a patch, rotated and merged with min() so that it never erases what lies beneath.
void vertical_text(cv::Mat& img, const std::string& s, int cx, int top, double scale) {
  int baseline = 0;
  const cv::Size size = cv::getTextSize(s, kFont, scale, 1, &baseline);
  cv::Mat patch(size.height + baseline + 2, size.width + 2, CV_8UC3, kWhite);
  cv::putText(patch, s, {1, size.height + 1}, kFont, scale, kInk, 1, cv::LINE_AA);
  cv::rotate(patch, patch, cv::ROTATE_90_COUNTERCLOCKWISE);
  const cv::Rect where(cx - patch.cols / 2, top, patch.cols, patch.rows);
  const cv::Rect inside = where & cv::Rect(0, 0, img.cols, img.rows);
  if (inside.empty()) return;
  cv::Mat under = img(inside);
  cv::min(under, patch(inside - where.tl()), under);
}

// Tick labels and printed values: integers with thousands separators below 1e7 ("12,500"), else %g with
// `digits` significant digits ("0.0125", "1e-05", "3.2e+09").
std::string format_number(double v, int digits = 4) {
  if (std::abs(v) < 1e7 && v == std::round(v)) return with_commas(static_cast<int64_t>(v));
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.*g", digits, v);
  return buffer;
}

// An axis span widened to round ticks.
struct Axis {
  double lo, hi;
  std::vector<double> ticks;

  // Halved first, so that spans up to the largest doubles do not overflow.
  double fraction(double v) const { return (v / 2 - lo / 2) / (hi / 2 - lo / 2); }
  double clamp(double v) const { return std::clamp(v, lo, hi); }
};

// Ticks at multiples of 1, 2 or 5 times a power of ten, the finest step giving at most 8 ticks (so 4 to
// 8), and the span widened to the outer ones. `integer` keeps the step >= 1 (training steps). An empty or
// vanishing span is padded first, so that nothing divides by zero.
Axis nice_axis(double lo, double hi, bool integer) {
  if (!(hi - lo > 1e-9 * std::max(std::abs(lo), std::abs(hi)))) {
    const double pad = std::max(integer ? 1.0 : 0.0, lo == 0 ? 1.0 : std::abs(lo) * 0.1);
    lo = std::max(lo - pad, -kMax);
    hi = std::min(hi + pad, kMax);
  }
  double base = std::pow(10.0, std::floor(std::log10((hi - lo) / 8)));
  if (integer) base = std::max(base, 1.0);
  // The small epsilon keeps 0.3 / 0.1 = 2.9999999999999996 from gaining a tick.
  double step = base, k_lo = 0, k_hi = 0;
  for (int i = 0; i < 60; ++i) {
    step = base * std::pow(10.0, i / 3) * (i % 3 == 0 ? 1 : i % 3 == 1 ? 2 : 5);
    k_lo = std::floor(lo / step + 1e-9);
    k_hi = std::ceil(hi / step - 1e-9);
    if (k_hi - k_lo <= 7) break;
  }
  Axis axis{k_lo * step, k_hi * step, {}};
  for (double k = k_lo; k <= k_hi; ++k) axis.ticks.push_back(k * step);
  // Round ends beyond the doubles (spans near their limits): the data's ends alone.
  if (!std::isfinite(axis.lo) || !std::isfinite(axis.hi)) axis = {lo, hi, {lo, hi}};
  return axis;
}

// Four significant digits, more only where neighbouring ticks would otherwise read alike (1000.6, 1000.8).
std::vector<std::string> tick_labels(const Axis& axis) {
  for (int digits = 4;; ++digits) {
    std::vector<std::string> labels;
    for (double t : axis.ticks) labels.push_back(format_number(t, digits));
    if (digits >= 12 || std::adjacent_find(labels.begin(), labels.end()) == labels.end()) return labels;
  }
}

// The left margin: the rotated y label, then the widest tick label.
int left_margin(const std::vector<std::string>& y_ticks) {
  int widest = 0;
  for (const auto& label : y_ticks) widest = std::max(widest, text_width(label, kText));
  return 36 + widest;
}

int row_of(const cv::Rect& box, const Axis& y, double v) {
  return box.y + box.height - static_cast<int>(std::lround(y.fraction(v) * box.height));
}

// The title above the plot, the y label beside it, and grid lines with labels at the y ticks.
void draw_frame(cv::Mat& img, const cv::Rect& box, const Axis& y, const std::string& title,
                const std::string& y_label) {
  text(img, fit(title, kTitle, img.cols - 20), img.cols / 2, 28, kTitle, Align::center);
  const std::string ylab = fit(y_label, kText, box.height);
  vertical_text(img, ylab, 14, box.y + (box.height - text_width(ylab, kText)) / 2, kText);
  const std::vector<std::string> labels = tick_labels(y);
  for (size_t i = 0; i < y.ticks.size(); ++i) {
    const int row = row_of(box, y, y.ticks[i]);
    cv::line(img, {box.x, row}, {box.x + box.width, row}, kGrid, 1);
    text(img, labels[i], box.x - 6, row + 5, kText, Align::right);
  }
}

void write_png(const std::filesystem::path& png, const cv::Mat& img) {
  std::vector<uchar> bytes;
  if (!cv::imencode(".png", img, bytes)) throw UserError(cat("cannot encode the chart ", png.string()));
  write_durably(png, [&](std::ostream& out) {
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  });
}

}  // namespace

void write_line_chart(const std::filesystem::path& png, const std::string& title, const std::string& y_label,
                      const std::vector<ChartSeries>& series) {
  std::vector<std::vector<std::pair<int64_t, double>>> finite(series.size());
  double x_lo = kInf, x_hi = -kInf, y_lo = kInf, y_hi = -kInf;
  for (size_t i = 0; i < series.size(); ++i)
    for (const auto& [step, value] : series[i].points) {
      if (!std::isfinite(value)) continue;
      finite[i].emplace_back(step, value);
      x_lo = std::min(x_lo, static_cast<double>(step)), x_hi = std::max(x_hi, static_cast<double>(step));
      y_lo = std::min(y_lo, value), y_hi = std::max(y_hi, value);
    }
  const bool no_data = x_lo > x_hi;
  const Axis x = no_data ? nice_axis(0, 1, true) : nice_axis(x_lo, x_hi, true);
  const Axis y = no_data ? nice_axis(0, 1, false) : nice_axis(y_lo, y_hi, false);

  // The legend takes what its labels need (up to 400 px each), the plot keeps at least 640 px.
  std::vector<std::string> legend;
  int legend_text = 0;
  for (const auto& s : series) {
    legend.push_back(fit(s.label, kText, 400));
    legend_text = std::max(legend_text, text_width(legend.back(), kText));
  }
  const int left = left_margin(tick_labels(y)), top = 44, bottom = 56, row = 22;
  const int right = series.empty() ? 24 : legend_text + 64;
  const int width = std::max(960, left + 640 + right);
  const int height = std::max(540, top + row * static_cast<int>(series.size()) + 16);
  cv::Mat img(height, width, CV_8UC3, kWhite);
  const cv::Rect box(left, top, width - left - right, height - top - bottom);
  auto column = [&](double step) { return box.x + static_cast<int>(std::lround(x.fraction(step) * box.width)); };

  draw_frame(img, box, y, title, y_label);
  const std::vector<std::string> x_labels = tick_labels(x);
  for (size_t i = 0; i < x.ticks.size(); ++i) {
    const int col = column(x.ticks[i]);
    cv::line(img, {col, box.y}, {col, box.y + box.height}, kGrid, 1);
    text(img, x_labels[i], col, box.y + box.height + 20, kText, Align::center);
  }
  text(img, "step", box.x + box.width / 2, height - 10, kText, Align::center);
  cv::rectangle(img, box, kInk, 1);
  if (no_data) text(img, "no data", box.x + box.width / 2, box.y + box.height / 2, kTitle, Align::center);

  for (size_t i = 0; i < series.size(); ++i) {
    std::vector<cv::Point> points;
    for (const auto& [step, value] : finite[i]) points.emplace_back(column(step), row_of(box, y, value));
    for (size_t p = 1; p < points.size(); ++p) cv::line(img, points[p - 1], points[p], tab10(i), 2, cv::LINE_AA);
    // Markers only while they stay apart; dense curves would turn into a thick band.
    if (points.size() * 8 <= static_cast<size_t>(box.width))
      for (const auto& p : points) cv::circle(img, p, 3, tab10(i), cv::FILLED, cv::LINE_AA);
    const int y_row = top + 12 + row * static_cast<int>(i), x0 = box.x + box.width + 16;
    cv::line(img, {x0, y_row - 5}, {x0 + 24, y_row - 5}, tab10(i), 2, cv::LINE_AA);
    cv::circle(img, {x0 + 12, y_row - 5}, 3, tab10(i), cv::FILLED, cv::LINE_AA);
    text(img, legend[i], x0 + 32, y_row, kText);
  }
  write_png(png, img);
}

void write_bar_chart(const std::filesystem::path& png, const std::string& title, const std::string& y_label,
                     const std::vector<ChartBar>& bars) {
  auto has_error = [](const ChartBar& b) { return b.n > 1 && std::isfinite(b.std) && b.std > 0; };
  double lo = kInf, hi = -kInf;
  bool negative = false;
  for (const auto& b : bars) {
    if (!std::isfinite(b.mean)) continue;
    const double spread = has_error(b) ? b.std : 0;
    negative = negative || b.mean < 0;
    lo = std::min(lo, b.mean - spread), hi = std::max(hi, b.mean + spread);
  }
  if (lo > hi) {
    lo = 0, hi = 1;  // nothing finite
  } else if (!negative) {
    lo = 0, hi = hi > 0 ? hi : 1;  // error bars below 0 are cut at the axis
  }
  // Room for the values printed beyond the bars' ends.
  const double room = 0.08 * (hi - lo);
  if (lo < 0) lo -= room;
  if (hi > 0) hi += room;
  const Axis y = nice_axis(lo, hi, false);

  // Labels stay horizontal while every one fits its slot, else all stand upright (up to 180 px): upright
  // labels never overlap, whatever the count.
  constexpr int kSlot = 120, kUpright = 180;
  const int n = static_cast<int>(bars.size());
  bool upright = false;
  int tallest = 0;
  std::vector<std::string> labels;
  for (const auto& b : bars) {
    upright = upright || text_width(b.label, kText) > kSlot - 12;
    labels.push_back(fit(b.label, kText, kUpright));
    tallest = std::max(tallest, text_width(labels.back(), kText));
  }
  const int left = left_margin(tick_labels(y)), top = 44, right = 20;
  const int bottom = upright ? tallest + 20 : 36;
  const int width = std::max(480, left + kSlot * n + right);
  const int height = std::max(480, top + 360 + bottom);
  cv::Mat img(height, width, CV_8UC3, kWhite);
  const cv::Rect box(left, top, width - left - right, height - top - bottom);
  draw_frame(img, box, y, title, y_label);
  cv::rectangle(img, box, kInk, 1);
  if (bars.empty()) text(img, "no data", box.x + box.width / 2, box.y + box.height / 2, kTitle, Align::center);

  const double slot = n ? static_cast<double>(box.width) / n : 0;
  const int bar_width = std::min(90, static_cast<int>(slot * 0.6));
  const int base = row_of(box, y, y.clamp(0));
  for (int i = 0; i < n; ++i) {
    const ChartBar& b = bars[i];
    const int cx = box.x + static_cast<int>(slot * (i + 0.5));
    if (upright) {
      vertical_text(img, labels[i], cx, box.y + box.height + 8, kText);
    } else {
      text(img, labels[i], cx, box.y + box.height + 22, kText, Align::center);
    }
    if (!std::isfinite(b.mean)) {
      text(img, "n/a", cx, base - 8, kText, Align::center);
      continue;
    }
    const int end = row_of(box, y, y.clamp(b.mean));
    cv::rectangle(img, cv::Rect(cx - bar_width / 2, std::min(base, end), bar_width, std::abs(end - base)), tab10(i),
                  cv::FILLED);
    int high = std::min(base, end), low = std::max(base, end);
    if (has_error(b)) {
      const int top_row = row_of(box, y, y.clamp(b.mean + b.std)), low_row = row_of(box, y, y.clamp(b.mean - b.std));
      const int cap = std::max(4, bar_width / 6);
      cv::line(img, {cx, top_row}, {cx, low_row}, kInk, 1, cv::LINE_AA);
      for (int r : {top_row, low_row}) cv::line(img, {cx - cap, r}, {cx + cap, r}, kInk, 1, cv::LINE_AA);
      high = std::min(high, top_row), low = std::max(low, low_row);
    }
    // Above a rising bar, below a falling one; inside the plot.
    const int value_row = b.mean >= 0 ? std::max(high - 6, box.y + 14) : std::min(low + 18, box.y + box.height - 4);
    text(img, format_number(b.mean), cx, value_row, kText, Align::center);
  }
  write_png(png, img);
}

}  // namespace loom::sweep

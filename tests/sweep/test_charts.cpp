// loom::sweep charts: the PNGs are read back with OpenCV and checked by their pixels (sizes, where each
// series' colour lies, bar heights), and degenerate inputs still give a valid chart.
#include <opencv2/imgcodecs.hpp>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>

#include "core/error.h"
#include "support/test_env.h"
#include "sweep/charts.h"

namespace {

namespace fs = std::filesystem;
using loom::sweep::ChartBar;
using loom::sweep::ChartSeries;

const cv::Vec3b kBlue(180, 119, 31), kOrange(14, 127, 255);  // tab10's first two colours, in BGR
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

cv::Mat read_png(const fs::path& png) {
  std::ifstream in(png, std::ios::binary);
  char magic[8] = {};
  in.read(magic, sizeof magic);
  REQUIRE(std::string(magic + 1, 3) == "PNG");
  cv::Mat img = cv::imread(png.string(), cv::IMREAD_COLOR);
  REQUIRE(!img.empty());
  return img;
}

// Near `colour`: the core of an anti-aliased line, not its blend with the white around it.
bool near(const cv::Vec3b& a, const cv::Vec3b& b) {
  for (int c = 0; c < 3; ++c)
    if (std::abs(a[c] - b[c]) > 30) return false;
  return true;
}

// The mean row of the pixels near `colour` in columns [x0, x1); -1 when there are none.
double mean_row(const cv::Mat& img, const cv::Vec3b& colour, int x0, int x1) {
  double sum = 0, count = 0;
  for (int r = 0; r < img.rows; ++r)
    for (int c = x0; c < x1; ++c)
      if (near(img.at<cv::Vec3b>(r, c), colour)) sum += r, ++count;
  return count ? sum / count : -1;
}

// How many rows hold a pixel of exactly `colour`: the height of a filled bar.
int rows_with(const cv::Mat& img, const cv::Vec3b& colour) {
  int rows = 0;
  for (int r = 0; r < img.rows; ++r) {
    bool found = false;
    for (int c = 0; c < img.cols && !found; ++c) found = img.at<cv::Vec3b>(r, c) == colour;
    rows += found;
  }
  return rows;
}

ChartSeries line(const std::string& label, double from, double to, int points = 11) {
  ChartSeries s{label, {}};
  for (int i = 0; i < points; ++i) s.points.emplace_back(i * 10, from + (to - from) * i / (points - 1));
  return s;
}

}  // namespace

TEST_CASE("line chart: each series in its colour rising or falling and listed in the legend", "[charts]") {
  const fs::path png = loom::test::scratch("charts_lines") / "loss.png";
  loom::sweep::write_line_chart(png, "val/loss", "loss", {line("rising", 0, 10), line("falling", 10, 0)});
  const cv::Mat img = read_png(png);
  CHECK(img.cols == 960);
  CHECK(img.rows == 540);
  const int w = img.cols;
  const double rising_left = mean_row(img, kBlue, w / 8, w * 3 / 10),
               rising_right = mean_row(img, kBlue, w / 2, w * 7 / 10);
  const double falling_left = mean_row(img, kOrange, w / 8, w * 3 / 10),
               falling_right = mean_row(img, kOrange, w / 2, w * 7 / 10);
  REQUIRE(rising_left > 0);
  REQUIRE(rising_right > 0);
  REQUIRE(falling_left > 0);
  REQUIRE(falling_right > 0);
  CHECK(rising_right < rising_left - 50);  // rows grow downwards
  CHECK(falling_right > falling_left + 50);
  // The legend's swatches, right of the plot.
  CHECK(mean_row(img, kBlue, w * 9 / 10, w) > 0);
  CHECK(mean_row(img, kOrange, w * 9 / 10, w) > 0);
}

TEST_CASE("line chart: long legend labels widen the canvas within bounds", "[charts]") {
  const fs::path png = loom::test::scratch("charts_long_legend") / "loss.png";
  const std::string label = "loss.name=siglip,model.vision.cropped_pe.enabled=true,optimizer.lr=0.0003,data.batch=512";
  loom::sweep::write_line_chart(png, "loss", "loss", {line(label, 1, 2), line("short", 2, 1)});
  const cv::Mat img = read_png(png);
  CHECK(img.cols > 960);
  CHECK(img.cols <= 1600);
  CHECK(img.rows == 540);
}

TEST_CASE("line chart: degenerate inputs still give a chart", "[charts]") {
  const fs::path dir = loom::test::scratch("charts_degenerate_lines");
  const std::vector<std::vector<ChartSeries>> cases = {
      {},
      {{"empty", {}}},
      {{"one point", {{5, 0.5}}}},
      {{"nan", {{0, kNaN}, {1, kInf}, {2, -kInf}}}},
      {{"equal", {{0, 3}, {10, 3}, {20, 3}}}, {"zeros", {{0, 0}, {10, 0}}}},
      {{"gaps", {{0, 1}, {10, kNaN}, {20, 2}}}},
      {{"huge", {{0, 1.25e12}, {125000, 3e12}}}, {"tiny", {{0, 1e-7}, {100, 2e-7}}}},
      {{"tiny range", {{0, 1.0}, {1, 1.0 + 1e-13}}}},
      {{"extreme", {{0, -1.7e308}, {1, 1.7e308}}}},
      {line("dense", 0, 1, 5000)},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const fs::path png = dir / ("case" + std::to_string(i) + ".png");
    INFO("case " << i);
    REQUIRE_NOTHROW(loom::sweep::write_line_chart(png, "title", "y", cases[i]));
    CHECK(read_png(png).cols >= 960);
  }
}

TEST_CASE("bar chart: bar heights follow the means from 0", "[charts]") {
  const fs::path png = loom::test::scratch("charts_bars") / "acc.png";
  loom::sweep::write_bar_chart(png, "top-1", "accuracy", {{"a", 1, 0.2, 3}, {"b", 3, 0.2, 3}});
  const cv::Mat img = read_png(png);
  CHECK(img.cols == 480);
  CHECK(img.rows >= 480);
  const int short_bar = rows_with(img, kBlue), tall_bar = rows_with(img, kOrange);
  REQUIRE(short_bar > 20);
  CHECK(std::abs(tall_bar - 3 * short_bar) <= 4);
}

TEST_CASE("bar chart: the width grows with the bars and n/a slots stay empty", "[charts]") {
  const fs::path dir = loom::test::scratch("charts_bar_slots");
  std::vector<ChartBar> bars;
  for (int i = 0; i < 10; ++i) bars.push_back({"job" + std::to_string(i), 1.0 + i, 0.1, 2});
  bars[1].mean = kNaN;
  loom::sweep::write_bar_chart(dir / "many.png", "t", "y", bars);
  const cv::Mat img = read_png(dir / "many.png");
  CHECK(img.cols >= 10 * 120);
  CHECK(rows_with(img, kBlue) > 0);
  CHECK(rows_with(img, kOrange) == 0);
}

TEST_CASE("bar chart: labels too long for their slot stand upright below the plot", "[charts]") {
  const fs::path dir = loom::test::scratch("charts_bar_labels");
  loom::sweep::write_bar_chart(dir / "short.png", "t", "y", {{"a", 1, 0, 1}, {"b", 2, 0, 1}});
  loom::sweep::write_bar_chart(dir / "long.png", "t", "y",
                               {{"loss.name=siglip,model.vision.cropped_pe.enabled=true", 1, 0, 1}, {"b", 2, 0, 1}});
  CHECK(read_png(dir / "short.png").rows == 480);
  CHECK(read_png(dir / "long.png").rows > 480);
}

TEST_CASE("bar chart: degenerate inputs still give a chart", "[charts]") {
  const fs::path dir = loom::test::scratch("charts_degenerate_bars");
  const std::string long_label = "loss.name=siglip,model.vision.cropped_pe.enabled=true";
  const std::vector<std::vector<ChartBar>> cases = {
      {},
      {{"single", 0.5, 0, 1}},
      {{"nan", kNaN, 0, 1}, {"inf", kInf, 0, 1}},
      {{"zero", 0, 0, 1}, {"zero too", 0, 0, 4}},
      {{"inf std", 2, kInf, 3}, {"nan std", 1, kNaN, 3}},
      {{"negative", -5, 1, 3}, {"more negative", -7, 0.5, 3}},
      {{"mixed", -2, 1, 3}, {"positive", 3, 1, 3}},
      {{"huge", 1.25e12, 1e11, 3}, {"tiny", 1e-7, 1e-8, 3}},
      {{long_label, 1, 0.1, 2}, {long_label + ",more", 2, 0.1, 2}},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const fs::path png = dir / ("case" + std::to_string(i) + ".png");
    INFO("case " << i);
    REQUIRE_NOTHROW(loom::sweep::write_bar_chart(png, "title", "y", cases[i]));
    CHECK(read_png(png).cols >= 480);
  }
}

TEST_CASE("charts: an unwritable path throws a UserError naming it", "[charts]") {
  const fs::path dir = loom::test::scratch("charts_unwritable");
  std::ofstream(dir / "file") << "not a folder";
  const fs::path png = dir / "file" / "chart.png";
  for (int kind = 0; kind < 2; ++kind) {
    try {
      if (kind == 0) loom::sweep::write_line_chart(png, "t", "y", {line("a", 0, 1)});
      if (kind == 1) loom::sweep::write_bar_chart(png, "t", "y", {{"a", 1, 0, 1}});
      FAIL("no exception");
    } catch (const loom::UserError& e) {
      CHECK(std::string(e.what()).find(png.string()) != std::string::npos);
    }
  }
}

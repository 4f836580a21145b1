#pragma once
// Charts of sweep results as PNG files: a metric against the training step per job, and one bar per
// job (or group of jobs) with its spread. Drawn with OpenCV; this header stays free of torch and OpenCV.
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace loom::sweep {

// One line of a line chart: (step, value) points in step order.
struct ChartSeries {
  std::string label;
  std::vector<std::pair<int64_t, double>> points;
};

// A metric against the training step, one coloured line (with point markers) per series, a legend
// listing each label with its colour beside the plot, axes with tick labels ("nice" round ticks), title
// and y-axis label. Non-finite values are skipped. Throws UserError (core/error.h) naming `png` when it cannot write.
void write_line_chart(const std::filesystem::path& png, const std::string& title, const std::string& y_label,
                      const std::vector<ChartSeries>& series);

// One bar of a bar chart: the mean over `n` jobs and its standard deviation (error bar when n > 1).
struct ChartBar {
  std::string label;
  double mean = 0;
  double std = 0;
  int64_t n = 1;
};

// Vertical bars with error bars (mean ± std) and the value printed above each bar, labels under the bars
// (rotated/shortened as needed so they do not overlap), title and y label. The y axis starts at 0 when all
// values are ≥ 0 (else spans the data). Non-finite bars are drawn as an empty slot labelled "n/a".
// Throws UserError naming `png` when it cannot write.
void write_bar_chart(const std::filesystem::path& png, const std::string& title, const std::string& y_label,
                     const std::vector<ChartBar>& bars);

}  // namespace loom::sweep

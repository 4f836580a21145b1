#pragma once
// Scalars as JSON lines: {"step": N, "time": <unix seconds>, "<tag>": value, ...}, one object per
// add_scalar/add_scalars call, so a step's metrics logged together share a line. Non-finite values are
// written as null (JSON has no NaN). Images and histograms are ignored: JSONL is the plain scalar table
// for scripts and plots; a statistic worth tracking there is logged explicitly as a scalar.
#include <filesystem>
#include <mutex>
#include <string>

#include "core/metrics/metrics_writer.h"

namespace loom {

class JsonlWriter final : public MetricsWriter {
 public:
  // Appends to `path` (creating it and its folder), so a resumed run continues the same file.
  explicit JsonlWriter(const std::filesystem::path& path);

  void add_scalar(const std::string& tag, double value, int64_t step) override;
  // Throws std::invalid_argument for the reserved tags "step" and "time".
  void add_scalars(int64_t step, const Scalars& scalars) override;
  void add_image(const std::string&, const at::Tensor&, int64_t) override {}
  void add_histogram(const std::string&, const at::Tensor&, int64_t, int = kHistogramBins) override {}
  void flush() override;

  const std::filesystem::path& path() const { return file_.path(); }

 private:
  std::mutex mutex_;
  MetricsFile file_;
};

}  // namespace loom

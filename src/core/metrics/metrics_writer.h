#pragma once
// Metrics sinks (core/metrics in docs/ARCHITECTURE.md "Layers"): the interface the trainer logs through, a fan-out
// to several sinks, and the output file both concrete writers (TensorBoard, JSONL) share.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace at {
class Tensor;
}

namespace loom {

// Several scalars of one step, in the order they should appear: {{"loss", 0.3}, {"lr", 1e-3}}.
using Scalars = std::vector<std::pair<std::string, double>>;

// The value named `name`; throws std::out_of_range naming it when absent.
double scalar_value(const Scalars& scalars, const std::string& name);

// TensorBoard's own default bucket count (tensorboard.plugins.histogram.summary).
inline constexpr int kHistogramBins = 30;

// Implementations are thread-safe.
class MetricsWriter {
 public:
  virtual ~MetricsWriter() = default;

  virtual void add_scalar(const std::string& tag, double value, int64_t step) = 0;
  // Writers that can keep one step's scalars together (one JSONL line, one event) override this.
  virtual void add_scalars(int64_t step, const Scalars& scalars);
  // image: HW, CHW or HWC (CHW when both ends could be channels) with 1, 3 (RGB) or 4 (RGBA)
  // channels; uint8, or floating in [0, 1] (clamped).
  virtual void add_image(const std::string& tag, const at::Tensor& image, int64_t step) = 0;
  virtual void add_histogram(const std::string& tag, const at::Tensor& values, int64_t step,
                             int bins = kHistogramBins) = 0;
  virtual void flush() = 0;
};

// Forwards every call to each writer added, in order. Add writers before logging from several threads.
class MultiWriter final : public MetricsWriter {
 public:
  void add(std::unique_ptr<MetricsWriter> writer);

  void add_scalar(const std::string& tag, double value, int64_t step) override;
  void add_scalars(int64_t step, const Scalars& scalars) override;
  void add_image(const std::string& tag, const at::Tensor& image, int64_t step) override;
  void add_histogram(const std::string& tag, const at::Tensor& values, int64_t step,
                     int bins = kHistogramBins) override;
  void flush() override;

 private:
  std::vector<std::unique_ptr<MetricsWriter>> writers_;
};

// A metrics output file: creates its folder, reports every I/O failure as a UserError naming the file,
// and flushes at least every few seconds while written to, so a live TensorBoard or `tail -f` sees
// progress without a syscall per record. Not synchronised: the writers hold their own lock.
class MetricsFile {
 public:
  MetricsFile(std::filesystem::path path, const char* mode);  // mode as for std::fopen
  ~MetricsFile();  // flushes and closes; a failure there is logged, since destructors must not throw
  MetricsFile(const MetricsFile&) = delete;
  MetricsFile& operator=(const MetricsFile&) = delete;

  void write(std::string_view bytes);
  void flush();
  const std::filesystem::path& path() const { return path_; }

 private:
  [[noreturn]] void fail(const char* what) const;

  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
  std::chrono::steady_clock::time_point last_flush_;
};

// Seconds since the Unix epoch, with sub-second resolution: the time stamp of every record.
double unix_time();

}  // namespace loom

#pragma once
// TensorBoard event files written directly: TFRecord framing with masked CRC32C around hand-encoded
// Event protos (tensorboard's compat/proto/event.proto), so neither protobuf nor TensorFlow is needed. Uses the
// legacy Summary.Value fields (simple_value, image, histo), which TensorBoard still reads.
#include <filesystem>
#include <mutex>
#include <string>
#include <string_view>

#include "core/metrics/metrics_writer.h"

namespace loom {

class TensorBoardWriter final : public MetricsWriter {
 public:
  // Creates `dir` and a new events.out.tfevents.<unix_secs>.<hostname>.<pid>.<n> file in it.
  explicit TensorBoardWriter(const std::filesystem::path& dir);

  void add_scalar(const std::string& tag, double value, int64_t step) override;  // stored as float32
  void add_scalars(int64_t step, const Scalars& scalars) override;               // one event holding every value
  void add_image(const std::string& tag, const at::Tensor& image, int64_t step) override;  // PNG
  // Finite values only (others are dropped with a warning), in `bins` equal-width buckets.
  void add_histogram(const std::string& tag, const at::Tensor& values, int64_t step,
                     int bins = kHistogramBins) override;
  void flush() override;

  const std::filesystem::path& path() const { return file_.path(); }

 private:
  void write_summary(int64_t step, const std::string& summary);
  void write_record(std::string_view data);  // caller holds mutex_

  std::mutex mutex_;
  MetricsFile file_;
};

}  // namespace loom

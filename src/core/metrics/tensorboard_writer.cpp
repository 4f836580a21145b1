#include "core/metrics/tensorboard_writer.h"

#include <unistd.h>

#include <ATen/ATen.h>
#include <algorithm>
#include <atomic>
#include <limits>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <stdexcept>
#include <vector>

#include "core/io/crc32c.h"
#include "core/log.h"
#include "core/metrics/protobuf_wire.h"

namespace loom {
namespace {

// Field numbers from tensorboard/compat/proto/{event,summary,histogram}.proto.
namespace event {
constexpr uint32_t wall_time = 1, step = 2, file_version = 3, summary = 5;
}
namespace value {
constexpr uint32_t tag = 1, simple_value = 2, image = 4, histo = 5;
}
namespace image {
constexpr uint32_t height = 1, width = 2, colorspace = 3, encoded = 4;
}
namespace histo {
constexpr uint32_t min = 1, max = 2, num = 3, sum = 4, sum_squares = 5, bucket_limit = 6, bucket = 7;
}
constexpr uint32_t kSummaryValue = 1;  // Summary.value

std::filesystem::path event_file_name(const std::filesystem::path& dir) {
  static std::atomic<int> counter{0};  // several writers of one process within one second
  char host[256] = "localhost";
  gethostname(host, sizeof(host) - 1);
  return dir /
         cat("events.out.tfevents.", static_cast<long long>(unix_time()), ".", host, ".", getpid(), ".", counter++);
}

// A Summary with one Value; `add` fills the value's payload field.
template <class Fill>
pb::Encoder summary_value(const std::string& tag, Fill&& add) {
  pb::Encoder v;
  v.bytes_field(value::tag, tag);
  add(v);
  return v;
}

bool is_channels(int64_t n) { return n == 1 || n == 3 || n == 4; }

// HW / CHW / HWC (CHW wins when both ends could be channels, as in torch) -> contiguous uint8 HWC.
at::Tensor to_hwc_uint8(const std::string& tag, const at::Tensor& image) {
  at::Tensor t = image.detach().cpu();
  bool ok = t.numel() > 0 && (t.dim() == 2 || t.dim() == 3);
  if (ok && t.dim() == 2)
    t = t.unsqueeze(-1);  // HW is already HWC with C = 1; no layout guess
  else if (ok && is_channels(t.size(0)))
    t = t.permute({1, 2, 0});
  else
    ok = ok && is_channels(t.size(2));
  if (!ok)
    throw std::invalid_argument(cat("add_image('", tag, "'): expected an HW, CHW or HWC image with 1, 3 or 4 ",
                                    "channels, got shape ", t.sizes()));
  if (t.is_floating_point())
    t = t.to(at::kFloat).clamp(0, 1).mul(255).round().to(at::kByte);
  else if (t.scalar_type() != at::kByte)
    throw std::invalid_argument(cat("add_image('", tag, "'): expected uint8 or floating, got ", t.scalar_type()));
  return t.contiguous();
}

pb::Encoder encode_image(const std::string& tag, const at::Tensor& hwc) {
  const int h = static_cast<int>(hwc.size(0)), w = static_cast<int>(hwc.size(1)), c = static_cast<int>(hwc.size(2));
  // `rgb` may share memory with the caller's tensor, so the BGR(A) order imencode expects goes to a
  // new Mat (a Mat copy would share the buffer and convert in place).
  const cv::Mat rgb(h, w, CV_8UC(c), hwc.data_ptr<uint8_t>());
  cv::Mat bgr;
  if (c == 3) cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  if (c == 4) cv::cvtColor(rgb, bgr, cv::COLOR_RGBA2BGRA);
  std::vector<uchar> png;
  if (!cv::imencode(".png", c == 1 ? rgb : bgr, png))
    throw std::runtime_error(cat("add_image('", tag, "'): PNG encoding failed"));
  pb::Encoder img;
  img.int_field(image::height, h);
  img.int_field(image::width, w);
  img.int_field(image::colorspace, c);  // 1 gray, 3 RGB, 4 RGBA: the channel count
  img.bytes_field(image::encoded, std::string_view(reinterpret_cast<const char*>(png.data()), png.size()));
  return summary_value(tag, [&](pb::Encoder& v) { v.message_field(value::image, img); });
}

// Equal-width buckets between min and max, last limit = max: what TensorBoard's own histogram summary
// and torch's SummaryWriter produce. TensorFlow's ~1500 exponential default edges would bloat every
// record and are re-binned by TensorBoard anyway. TensorBoard reads bucket i as
// [limit[i-1], limit[i]] with min as the first left edge, so all-equal values give one bucket [v, v].
pb::Encoder encode_histogram(const std::string& tag, const at::Tensor& values, int bins) {
  if (bins < 1) throw std::invalid_argument(cat("add_histogram('", tag, "'): bins must be >= 1, got ", bins));
  at::Tensor all = values.detach().to(at::kCPU, at::kDouble).contiguous().flatten();
  at::Tensor finite = all.masked_select(all.isfinite());
  if (finite.numel() < all.numel())
    LOOM_WARN("add_histogram('", tag, "'): dropped ", all.numel() - finite.numel(), " non-finite values");
  const double* x = finite.data_ptr<double>();
  const int64_t n = finite.numel();

  double lo = n ? std::numeric_limits<double>::max() : 0, hi = n ? std::numeric_limits<double>::lowest() : 0;
  double sum = 0, sum_squares = 0;
  for (int64_t i = 0; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
    sum += x[i];
    sum_squares += x[i] * x[i];
  }
  std::vector<double> limits, counts;
  if (n > 0 && lo == hi) {
    limits = {hi};
    counts = {double(n)};
  } else if (n > 0) {
    const double width = (hi - lo) / bins;
    limits.resize(bins);
    counts.assign(bins, 0);
    for (int i = 0; i < bins; ++i) limits[i] = lo + (i + 1) * width;
    limits.back() = hi;
    for (int64_t i = 0; i < n; ++i) counts[std::min<int64_t>(static_cast<int64_t>((x[i] - lo) / width), bins - 1)] += 1;
  }
  pb::Encoder h;
  h.double_field(histo::min, lo);
  h.double_field(histo::max, hi);
  h.double_field(histo::num, double(n));
  h.double_field(histo::sum, sum);
  h.double_field(histo::sum_squares, sum_squares);
  h.packed_doubles_field(histo::bucket_limit, limits);
  h.packed_doubles_field(histo::bucket, counts);
  return summary_value(tag, [&](pb::Encoder& v) { v.message_field(value::histo, h); });
}

}  // namespace

TensorBoardWriter::TensorBoardWriter(const std::filesystem::path& dir) : file_(event_file_name(dir), "wb") {
  pb::Encoder e;
  e.double_field(event::wall_time, unix_time());
  e.bytes_field(event::file_version, "brain.Event:2");
  write_record(e.bytes());
  file_.flush();  // TensorBoard recognises the run as soon as the file has its header
}

void TensorBoardWriter::add_scalar(const std::string& tag, double value, int64_t step) {
  add_scalars(step, {{tag, value}});
}

void TensorBoardWriter::add_scalars(int64_t step, const Scalars& scalars) {
  pb::Encoder summary;
  for (const auto& [tag, value] : scalars)
    summary.message_field(kSummaryValue, summary_value(tag, [&](pb::Encoder& v) {
                            v.float_field(value::simple_value, static_cast<float>(value));
                          }));
  write_summary(step, summary.bytes());
}

void TensorBoardWriter::add_image(const std::string& tag, const at::Tensor& image, int64_t step) {
  pb::Encoder summary;
  summary.message_field(kSummaryValue, encode_image(tag, to_hwc_uint8(tag, image)));
  write_summary(step, summary.bytes());
}

void TensorBoardWriter::add_histogram(const std::string& tag, const at::Tensor& values, int64_t step, int bins) {
  pb::Encoder summary;
  summary.message_field(kSummaryValue, encode_histogram(tag, values, bins));
  write_summary(step, summary.bytes());
}

void TensorBoardWriter::flush() {
  std::lock_guard lock(mutex_);
  file_.flush();
}

void TensorBoardWriter::write_summary(int64_t step, const std::string& summary) {
  pb::Encoder e;
  e.double_field(event::wall_time, unix_time());
  e.int_field(event::step, step);
  e.bytes_field(event::summary, summary);
  std::lock_guard lock(mutex_);
  write_record(e.bytes());
}

// TFRecord: uint64 length (LE), masked CRC32C of those 8 bytes, data, masked CRC32C of data.
void TensorBoardWriter::write_record(std::string_view data) {
  auto le32 = [](char* out, uint32_t v) {
    for (int i = 0; i < 4; ++i) out[i] = static_cast<char>(v >> (8 * i));
  };
  char header[12];
  const uint64_t size = data.size();
  for (int i = 0; i < 8; ++i) header[i] = static_cast<char>(size >> (8 * i));
  le32(header + 8, mask_crc32c(crc32c(std::string_view(header, 8))));
  char footer[4];
  le32(footer, mask_crc32c(crc32c(data)));
  file_.write(std::string_view(header, sizeof(header)));
  file_.write(data);
  file_.write(std::string_view(footer, sizeof(footer)));
}

}  // namespace loom

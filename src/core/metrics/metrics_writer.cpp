#include "core/metrics/metrics_writer.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "core/error.h"
#include "core/log.h"

namespace loom {

double scalar_value(const Scalars& scalars, const std::string& name) {
  for (const auto& [n, v] : scalars)
    if (n == name) return v;
  throw std::out_of_range("no scalar named '" + name + "'");
}

void MetricsWriter::add_scalars(int64_t step, const Scalars& scalars) {
  for (const auto& [tag, value] : scalars) add_scalar(tag, value, step);
}

void MultiWriter::add(std::unique_ptr<MetricsWriter> writer) { writers_.push_back(std::move(writer)); }

void MultiWriter::add_scalar(const std::string& tag, double value, int64_t step) {
  for (auto& w : writers_) w->add_scalar(tag, value, step);
}

void MultiWriter::add_scalars(int64_t step, const Scalars& scalars) {
  for (auto& w : writers_) w->add_scalars(step, scalars);
}

void MultiWriter::add_image(const std::string& tag, const at::Tensor& image, int64_t step) {
  for (auto& w : writers_) w->add_image(tag, image, step);
}

void MultiWriter::add_histogram(const std::string& tag, const at::Tensor& values, int64_t step, int bins) {
  for (auto& w : writers_) w->add_histogram(tag, values, step, bins);
}

void MultiWriter::flush() {
  for (auto& w : writers_) w->flush();
}

namespace {
constexpr auto kFlushInterval = std::chrono::seconds(5);
}

MetricsFile::MetricsFile(std::filesystem::path path, const char* mode)
    : path_(std::move(path)), last_flush_(std::chrono::steady_clock::now()) {
  if (path_.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(path_.parent_path(), ec);
    if (ec) throw UserError(cat("cannot create metrics folder ", path_.parent_path(), ": ", ec.message()));
  }
  file_ = std::fopen(path_.c_str(), mode);
  if (!file_) fail("cannot open");
}

MetricsFile::~MetricsFile() {
  try {
    flush();
  } catch (const std::exception& e) {
    LOOM_WARN(e.what());
  }
  if (std::fclose(file_) != 0) LOOM_WARN("cannot close metrics file ", path_, ": ", std::strerror(errno));
}

void MetricsFile::write(std::string_view bytes) {
  if (std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) fail("cannot write");
  if (std::chrono::steady_clock::now() - last_flush_ >= kFlushInterval) flush();
}

void MetricsFile::flush() {
  if (std::fflush(file_) != 0) fail("cannot write");
  last_flush_ = std::chrono::steady_clock::now();
}

void MetricsFile::fail(const char* what) const {
  throw UserError(cat(what, " metrics file ", path_, ": ", std::strerror(errno)));
}

double unix_time() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

}  // namespace loom

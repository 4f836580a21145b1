#include "core/metrics/jsonl_writer.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "core/text/cat.h"

namespace loom {

namespace {

// Whether `path` exists and its last byte is not a newline: the tail of a line cut by a crash.
bool ends_mid_line(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in || in.tellg() <= 0) return false;
  in.seekg(-1, std::ios::end);
  return in.get() != '\n';
}

}  // namespace

JsonlWriter::JsonlWriter(const std::filesystem::path& path) : file_(path, "ab") {
  // A resumed run appends: end the cut line first, or the first new record would join it and be lost.
  if (ends_mid_line(path)) file_.write("\n");
}

void JsonlWriter::add_scalar(const std::string& tag, double value, int64_t step) { add_scalars(step, {{tag, value}}); }

void JsonlWriter::add_scalars(int64_t step, const Scalars& scalars) {
  nlohmann::ordered_json line;  // keeps step and time first, tags in the caller's order
  line["step"] = step;
  line["time"] = unix_time();
  for (const auto& [tag, value] : scalars) {
    if (tag == "step" || tag == "time")
      throw std::invalid_argument(cat("JsonlWriter: the tag '", tag, "' is reserved"));
    line[tag] = value;
  }
  std::string text = line.dump() + '\n';
  std::lock_guard lock(mutex_);
  file_.write(text);
}

void JsonlWriter::flush() {
  std::lock_guard lock(mutex_);
  file_.flush();
}

}  // namespace loom

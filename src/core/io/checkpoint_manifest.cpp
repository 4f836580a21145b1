#include "core/io/checkpoint_manifest.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/io/crc32c.h"
#include "core/io/file_system.h"
#include "core/io/weights.h"
#include "core/text/cat.h"

namespace loom::checkpoint {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr const char* kFormat = "loom-checkpoint";
constexpr int kVersion = 1;

[[noreturn]] void fail(const fs::path& folder, const std::string& file, const std::string& what) {
  throw UserError(cat("checkpoint ", folder.string(), ": ", file, ": ", what));
}

}  // namespace

bool safe_name(const std::string& name) {
  if (name.empty() || name == "." || name == "..") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
  });
}

FileRecord record_of(std::string_view bytes) { return {bytes.size(), crc32c(bytes)}; }

std::optional<FileRecord> record_of_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::vector<char> buffer(1 << 20);
  FileRecord record;
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    std::streamsize n = in.gcount();
    if (n <= 0) break;
    record.crc32c = crc32c_extend(record.crc32c, buffer.data(), static_cast<std::size_t>(n));
    record.size += static_cast<uint64_t>(n);
  }
  if (in.bad()) return std::nullopt;
  return record;
}

std::string manifest_text(const Manifest& manifest) {
  json files = json::object();
  for (const auto& [name, record] : manifest.files) files[name] = {{"size", record.size}, {"crc32c", record.crc32c}};
  json metrics = json::object();
  for (const auto& [k, v] : manifest.metrics) metrics[k] = std::isfinite(v) ? json(v) : json(nullptr);
  json m = {
      {"format", kFormat}, {"version", kVersion}, {"step", manifest.step}, {"files", files}, {"metrics", metrics}};
  return m.dump(2) + "\n";
}

Manifest read_manifest(const fs::path& folder) {
  const fs::path path = folder / kManifest;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    fail(folder, kManifest, "missing (the checkpoint is incomplete: its writer did not finish)");
  auto text = read_file(path);
  if (!text) fail(folder, kManifest, "cannot be read");
  json j;
  try {
    j = json::parse(*text);
  } catch (const std::exception& e) {
    fail(folder, kManifest, cat("not valid JSON (", e.what(), ")"));
  }
  Manifest m;
  try {
    if (!j.is_object() || j.value("format", "") != kFormat)
      fail(folder, kManifest, cat("not a checkpoint manifest (format is not '", kFormat, "')"));
    const int version = j.at("version").get<int>();
    if (version > kVersion)
      fail(folder, kManifest, cat("format version ", version, " is newer than this build supports (", kVersion, ")"));
    m.step = j.at("step").get<int64_t>();
    if (auto it = j.find("metrics"); it != j.end() && it->is_object())
      for (const auto& [k, v] : it->items()) m.metrics[k] = v.is_number() ? v.get<double>() : std::nan("");
    for (const auto& [name, entry] : j.at("files").items()) {
      if (!safe_name(name)) fail(folder, kManifest, cat("unsafe file name '", name, "'"));
      m.files.emplace_back(name, FileRecord{entry.at("size").get<uint64_t>(), entry.at("crc32c").get<uint32_t>()});
    }
  } catch (const UserError&) {
    throw;
  } catch (const std::exception& e) {
    fail(folder, kManifest, cat("malformed (", e.what(), ")"));
  }
  auto listed = [&](const char* name) {
    return std::any_of(m.files.begin(), m.files.end(), [&](const auto& f) { return f.first == name; });
  };
  if (!listed(kTensors)) fail(folder, kManifest, cat("does not list ", kTensors));
  if (!listed(kState)) fail(folder, kManifest, cat("does not list ", kState));
  return m;
}

std::optional<Manifest> try_read_manifest(const fs::path& folder) {
  try {
    return read_manifest(folder);
  } catch (const UserError&) {
    return std::nullopt;
  }
}

LoadedCheckpoint load_folder(const fs::path& folder) {
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) throw UserError(cat("checkpoint ", folder.string(), ": not a folder"));
  Manifest m = read_manifest(folder);
  for (const auto& [name, expect] : m.files) {
    const fs::path path = folder / name;
    if (!fs::is_regular_file(path, ec)) fail(folder, name, "missing");
    auto got = record_of_file(path);
    if (!got) fail(folder, name, "cannot be read");
    if (got->size != expect.size)
      fail(folder, name, cat("size is ", got->size, " bytes, the manifest says ", expect.size, " (truncated?)"));
    if (got->crc32c != expect.crc32c) fail(folder, name, "CRC32C mismatch (the file is corrupt)");
  }
  LoadedCheckpoint out;
  out.path = folder;
  out.step = m.step;
  try {
    out.contents.tensors = weights::read((folder / kTensors).string());
  } catch (const UserError& e) {
    fail(folder, kTensors, e.what());
  }
  for (const auto& [name, expect] : m.files) {
    if (name == kTensors) continue;
    auto bytes = read_file(folder / name);
    if (!bytes || bytes->size() != expect.size) fail(folder, name, "changed while being read");
    if (name == kState)
      out.contents.state_json = std::move(*bytes);
    else
      out.contents.blobs[name] = std::move(*bytes);
  }
  return out;
}

}  // namespace loom::checkpoint

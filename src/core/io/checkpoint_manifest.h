#pragma once
// One checkpoint folder as written by CheckpointStore: tensors.safetensors, state.json, the blobs, and
// MANIFEST.json, written last, which records the step, the metrics, and the size and CRC32C of every
// other file. A folder is complete when its manifest is there and every listed file matches it.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/io/checkpoint.h"

namespace loom::checkpoint {

inline constexpr const char* kManifest = "MANIFEST.json";
inline constexpr const char* kTensors = "tensors.safetensors";
inline constexpr const char* kState = "state.json";

struct FileRecord {
  uint64_t size = 0;
  uint32_t crc32c = 0;
};

struct Manifest {
  int64_t step = 0;
  std::map<std::string, double> metrics;  // NaN for a non-finite value (null in the file)
  std::vector<std::pair<std::string, FileRecord>> files;
};

// Letters, digits, '.', '_' and '-', and not "." or "..": names that stay inside the folder.
bool safe_name(const std::string& name);

FileRecord record_of(std::string_view bytes);
// Streamed from the file; nullopt when it cannot be read.
std::optional<FileRecord> record_of_file(const std::filesystem::path& path);

std::string manifest_text(const Manifest& manifest);
// UserError "checkpoint <folder>: MANIFEST.json: ..." when it is missing, malformed or incomplete.
Manifest read_manifest(const std::filesystem::path& folder);
std::optional<Manifest> try_read_manifest(const std::filesystem::path& folder);

// Verifies every file against the manifest, then reads them; UserError naming the folder and file.
LoadedCheckpoint load_folder(const std::filesystem::path& folder);

}  // namespace loom::checkpoint

#include "train/run_directory.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <system_error>
#include <vector>

#include "core/error.h"
#include "core/text/cat.h"

namespace loom {

std::string run_timestamp() {
  std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y%m%d-%H%M%S", &local);
  return buffer;
}

namespace {

bool has_checkpoint(const std::filesystem::path& run) {
  std::error_code ec;
  return std::filesystem::exists(run / "checkpoints" / "latest", ec);
}

}  // namespace

void create_run_directory(const RunDirectory& run, const OutputOptions& options) {
  std::error_code ec;
  std::filesystem::create_directories(run.dir, ec);
  if (!ec && ::access(run.dir.c_str(), W_OK) != 0) ec = std::error_code(errno, std::generic_category());
  if (ec)
    throw UserError(cat("output.root: cannot create the run folder ", run.dir.string(), " (", ec.message(),
                        "); output.root is '", options.root, "'"));
}

RunDirectory resolve_run_directory(const OutputOptions& options, const std::string& config_path, bool continue_latest) {
  std::string name = options.name.empty() ? std::filesystem::path(config_path).stem().string() : options.name;
  std::filesystem::path base = std::filesystem::path(options.root) / name;
  if (!options.id.empty()) return {base / options.id};
  if (continue_latest) {
    std::vector<std::filesystem::path> runs;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(base, ec))
      if (entry.is_directory() && has_checkpoint(entry.path())) runs.push_back(entry.path());
    // Ids default to sortable timestamps, so the greatest name is the newest run.
    if (!runs.empty()) return {*std::max_element(runs.begin(), runs.end())};
  }
  std::filesystem::path dir = base / run_timestamp();
  for (int n = 2; std::filesystem::exists(dir); ++n) dir = base / cat(run_timestamp(), "-", n);
  return {dir};
}

}  // namespace loom

#include "core/io/checkpoint.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>

#include "core/error.h"
#include "core/io/atomic_file.h"
#include "core/io/checkpoint_manifest.h"
#include "core/io/file_system.h"
#include "core/log.h"
#include "core/text/cat.h"

namespace loom {
namespace fs = std::filesystem;
using checkpoint::kManifest, checkpoint::kState, checkpoint::kTensors, checkpoint::load_folder, checkpoint::safe_name;

namespace {

void write_pointer(const fs::path& dir, const std::string& name, const std::string& text) {
  write_file_atomically(dir / name, text + "\n");
}

std::string trim(std::string s) {
  auto blank = [](unsigned char c) { return std::isspace(c) != 0; };
  s.erase(s.begin(), std::find_if_not(s.begin(), s.end(), blank));
  s.erase(std::find_if_not(s.rbegin(), s.rend(), blank).base(), s.end());
  return s;
}

std::string folder_name(int64_t step) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "step-%09lld", static_cast<long long>(step));
  return buf;
}

// Step number of a "step-<digits>" name.
std::optional<int64_t> parse_step(const std::string& name) {
  if (name.rfind("step-", 0) != 0 || name.size() == 5 || name.size() > 5 + 18) return std::nullopt;
  int64_t step = 0;
  for (std::size_t i = 5; i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') return std::nullopt;
    step = step * 10 + (name[i] - '0');
  }
  return step;
}

// step-* folders (complete or not), oldest first.
std::vector<std::pair<int64_t, fs::path>> step_folders(const fs::path& dir) {
  std::vector<std::pair<int64_t, fs::path>> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    auto step = parse_step(name);
    if (step && it->is_directory(ec)) out.emplace_back(*step, it->path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<std::string> read_pointer(const fs::path& dir, const std::string& name) {
  auto text = read_file(dir / name);
  if (!text) return std::nullopt;
  return trim(*text);
}

bool pid_alive(pid_t pid) { return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM); }

// The order in which checkpoints are tried: the folder `latest` names, then step-* folders newest first.
std::vector<fs::path> candidates(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  if (auto name = read_pointer(dir, "latest")) {
    if (safe_name(*name) && fs::is_directory(dir / *name, ec))
      out.push_back(dir / *name);
    else
      LOOM_WARN("checkpoint ", dir.string(), ": 'latest' names '", *name,
                "', which does not exist; looking for the newest complete checkpoint instead");
  }
  auto folders = step_folders(dir);
  for (auto it = folders.rbegin(); it != folders.rend(); ++it)
    if (std::find(out.begin(), out.end(), it->second) == out.end()) out.push_back(it->second);
  return out;
}

// load_latest's search, for a checkpoints folder.
std::optional<LoadedCheckpoint> latest_in(const fs::path& dir) {
  for (const fs::path& folder : candidates(dir)) {
    try {
      return load_folder(folder);
    } catch (const UserError& e) {
      LOOM_WARN("skipping ", e.what());
    }
  }
  return std::nullopt;
}

bool better(double candidate, double best, const std::string& mode) {
  if (std::isnan(candidate)) return false;
  if (std::isnan(best)) return true;
  return mode == "max" ? candidate > best : candidate < best;
}

}  // namespace

// ---- CheckpointStore ----

CheckpointStore::CheckpointStore(fs::path dir, CheckpointOptions options)
    : dir_(std::move(dir)), options_(std::move(options)) {
  if (options_.keep_last < 0)
    throw UserError(cat("checkpoint ", dir_.string(), ": keep_last must be >= 0, got ", options_.keep_last));
  if (options_.best_mode != "min" && options_.best_mode != "max")
    throw UserError(
        cat("checkpoint ", dir_.string(), ": best_mode must be 'min' or 'max', got '", options_.best_mode, "'"));
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) throw UserError(cat("checkpoint ", dir_.string(), ": cannot create the folder (", ec.message(), ")"));
  cleanup_leftovers();
}

// Leftovers of writers that died: ".tmp-<what>-<pid>" entries whose pid is not alive (or is ours: an
// earlier incarnation of this pid, as after a restart in a container). A ".tmp-old-step-N-<pid>" whose
// step-N is missing is a replaced checkpoint the writer set aside but never replaced: it is restored.
void CheckpointStore::cleanup_leftovers() {
  std::error_code ec;
  std::vector<fs::path> entries;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec))
    if (it->path().filename().string().rfind(".tmp-", 0) == 0) entries.push_back(it->path());
  for (const auto& path : entries) {
    const std::string name = path.filename().string();
    const auto dash = name.rfind('-');
    const auto pid = static_cast<pid_t>(temporary_writer(name));
    if (pid != 0 && pid != ::getpid() && pid_alive(pid)) continue;  // another live writer's
    if (name.rfind(".tmp-old-", 0) == 0 && dash != std::string::npos && dash > 9) {
      const std::string original = name.substr(9, dash - 9);
      if (parse_step(original) && !fs::exists(dir_ / original, ec) && fs::exists(path / kManifest, ec)) {
        fs::rename(path, dir_ / original, ec);
        if (!ec) {
          LOOM_WARN("checkpoint ", dir_.string(), ": restored ", original, " set aside by an interrupted save");
          continue;
        }
      }
    }
    if (remove_tree(path))
      LOOM_INFO("checkpoint ", dir_.string(), ": removed ", name, " left by an interrupted save");
    else
      LOOM_WARN("checkpoint ", dir_.string(), ": cannot remove leftover ", name);
  }
}

fs::path CheckpointStore::save(int64_t step, const CheckpointContents& contents,
                               const std::map<std::string, double>& metrics) {
  const std::string where = cat("checkpoint ", dir_.string());
  if (step < 0) throw UserError(cat(where, ": step must be >= 0, got ", step));
  for (const auto& [name, bytes] : contents.blobs) {
    if (!safe_name(name))
      throw UserError(
          cat(where, ": blob name '", name, "' is not a safe file name (use letters, digits, '.', '_' and '-')"));
    if (name == kTensors || name == kState || name == kManifest || name.rfind(".tmp-", 0) == 0)
      throw UserError(cat(where, ": blob name '", name, "' is reserved"));
  }
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) throw UserError(cat(where, ": cannot create the folder (", ec.message(), ")"));
  const std::string name = folder_name(step);
  const fs::path final_path = dir_ / name;
  const fs::path tmp = temporary_path(final_path);
  const fs::path old = temporary_path(final_path, "old");
  // The best before this save (read now: this save may replace the folder it names).
  auto best = current_best(name);

  remove_tree(tmp);
  try {
    fs::create_directory(tmp, ec);
    if (ec) throw UserError(cat(where, ": cannot create ", tmp.string(), " (", ec.message(), ")"));
    checkpoint::Manifest manifest{step, metrics, {}};
    weights::write((tmp / kTensors).string(), contents.tensors);
    auto tensors = checkpoint::record_of_file(tmp / kTensors);
    if (!tensors) throw UserError(cat(where, ": cannot read back ", (tmp / kTensors).string()));
    manifest.files.emplace_back(kTensors, *tensors);
    auto put = [&](const std::string& file, const std::string& bytes) {
      write_file_atomically(tmp / file, bytes);
      manifest.files.emplace_back(file, checkpoint::record_of(bytes));
    };
    put(kState, contents.state_json);
    for (const auto& [blob, bytes] : contents.blobs) put(blob, bytes);
    write_file_atomically(tmp / kManifest, checkpoint::manifest_text(manifest));

    // Move into place; an existing same-step folder is set aside first and deleted afterwards.
    bool replaced = false;
    if (fs::exists(final_path, ec)) {
      remove_tree(old);
      fs::rename(final_path, old, ec);
      if (ec) throw UserError(cat(where, ": cannot move aside the existing ", name, " (", ec.message(), ")"));
      replaced = true;
    }
    fs::rename(tmp, final_path, ec);
    if (ec) {
      std::error_code ec2;
      if (replaced) fs::rename(old, final_path, ec2);
      throw UserError(cat(where, ": cannot rename ", tmp.filename().string(), " to ", name, " (", ec.message(), ")"));
    }
    sync_folder(dir_);
    if (replaced && !remove_tree(old))
      LOOM_WARN(where, ": cannot delete ", old.filename().string(), ", the replaced ", name, "; it is left behind");
  } catch (const UserError& e) {
    remove_tree(tmp);
    throw UserError(cat(where, ": cannot save step ", step, ": ", e.what()));
  } catch (...) {
    remove_tree(tmp);
    throw;
  }

  write_pointer(dir_, "latest", name);
  if (!options_.best_metric.empty()) {
    auto it = metrics.find(options_.best_metric);
    if (it != metrics.end() && (!best || better(it->second, best->second, options_.best_mode))) {
      if (!std::isnan(it->second)) {
        write_pointer(dir_, "best", name);
        best = std::make_pair(name, it->second);
      }
    } else if (best && read_pointer(dir_, "best") != best->first) {
      write_pointer(dir_, "best", best->first);  // repair a missing or dangling pointer
    }
  }
  prune(name, best ? best->first : std::string());
  return final_path;
}

// The folder and value of the best checkpoint by best_metric: the one `best` names, or (when that is
// missing, dangling or lacks the metric) the best among the complete ones. `excluded` is left out.
std::optional<std::pair<std::string, double>> CheckpointStore::current_best(const std::string& excluded) const {
  if (options_.best_metric.empty()) return std::nullopt;
  auto value_of = [&](const fs::path& folder) -> std::optional<double> {
    auto m = checkpoint::try_read_manifest(folder);
    if (!m) return std::nullopt;
    auto it = m->metrics.find(options_.best_metric);
    if (it == m->metrics.end() || std::isnan(it->second)) return std::nullopt;
    return it->second;
  };
  if (auto name = read_pointer(dir_, "best"); name && safe_name(*name) && *name != excluded)
    if (auto v = value_of(dir_ / *name)) return std::make_pair(*name, *v);
  std::optional<std::pair<std::string, double>> best;
  for (const auto& folder : list()) {
    const std::string name = folder.filename().string();
    if (name == excluded) continue;
    if (auto v = value_of(folder); v && (!best || better(*v, best->second, options_.best_mode)))
      best = std::make_pair(name, *v);
  }
  return best;
}

// Keeps the newest keep_last complete checkpoints, the best one and the one just written.
void CheckpointStore::prune(const std::string& just_written, const std::string& best) const {
  if (options_.keep_last == 0) return;
  auto folders = list();
  const auto keep_from = folders.size() > static_cast<std::size_t>(options_.keep_last)
                             ? folders.size() - static_cast<std::size_t>(options_.keep_last)
                             : 0;
  for (std::size_t i = 0; i < keep_from; ++i) {
    const std::string name = folders[i].filename().string();
    if (name == just_written || name == best ||
        std::find(unmovable_.begin(), unmovable_.end(), name) != unmovable_.end())
      continue;
    // Renamed first, so that a crash mid-deletion leaves a .tmp- leftover, not a half-deleted checkpoint.
    const fs::path doomed = temporary_path(folders[i], "prune");
    std::error_code ec;
    fs::rename(folders[i], doomed, ec);
    if (ec || !remove_tree(doomed))
      LOOM_WARN("checkpoint ", dir_.string(), ": cannot delete old checkpoint ", name,
                ec ? cat(" (", ec.message(), ")") : std::string());
    else
      LOOM_DEBUG("checkpoint ", dir_.string(), ": deleted old checkpoint ", name);
  }
}

std::optional<LoadedCheckpoint> CheckpointStore::load_latest() const { return latest_in(dir_); }

std::optional<LoadedCheckpoint> CheckpointStore::restore_latest(
    const std::function<void(const LoadedCheckpoint&)>& restore) {
  const std::vector<fs::path> folders = candidates(dir_);
  for (const fs::path& folder : folders) {
    std::optional<LoadedCheckpoint> loaded;
    try {
      loaded = load_folder(folder);
      restore(*loaded);
      return loaded;
    } catch (const CheckpointMismatch&) {
      throw;
    } catch (const std::exception& e) {
      // A CRC-valid file can still fail to parse (an optimizer archive written by a broken disk or tool).
      set_aside(folder, loaded ? cat("checkpoint ", folder.string(), ": cannot be restored: ", e.what()) : e.what());
    }
  }
  if (folders.empty()) return std::nullopt;
  throw UserError(cat("checkpoint ", dir_.string(), ": none of its ", folders.size(),
                      " checkpoints could be restored (see the warnings); they are kept in ",
                      (dir_ / "unreadable").string(),
                      ". Starting over would overwrite this run: move them away or use another output.name"));
}

// Into unreadable/ rather than deleted: the user's only copy of a long run may be repairable, and out of
// step-* it is neither tried again nor pruned.
void CheckpointStore::set_aside(const fs::path& folder, const std::string& why) {
  const fs::path aside_dir = dir_ / "unreadable";
  std::error_code ec;
  fs::create_directories(aside_dir, ec);
  fs::path target = aside_dir / folder.filename();
  for (int i = 1; fs::exists(target, ec); ++i) target = aside_dir / cat(folder.filename().string(), ".", i);
  if (!ec) fs::rename(folder, target, ec);
  if (ec) {
    unmovable_.push_back(folder.filename().string());
    LOOM_WARN(why, "; it is left in place (cannot move it to ", aside_dir.string(), ": ", ec.message(), ")");
  } else {
    LOOM_WARN(why, "; moved to ", target.string(), " and kept, trying the previous checkpoint");
  }
}

LoadedCheckpoint CheckpointStore::load(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw UserError(cat("checkpoint ", path.string(), ": does not exist"));
  const std::string name = path.filename().string();
  if (fs::exists(path / kManifest, ec) || parse_step(name) || name.rfind(".tmp-", 0) == 0) return load_folder(path);
  fs::path dir = path;
  // A run folder: its checkpoints/ subfolder.
  if (!fs::exists(dir / "latest", ec) && step_folders(dir).empty() && fs::is_directory(dir / "checkpoints", ec))
    dir = dir / "checkpoints";
  if (auto loaded = latest_in(dir)) return std::move(*loaded);
  const bool any = !step_folders(dir).empty();
  throw UserError(cat("checkpoint ", dir.string(), ": ",
                      any ? "no loadable checkpoint (every step-* folder is incomplete or corrupt; see the warnings)"
                          : "no checkpoint here (no step-* folder)"));
}

std::vector<fs::path> CheckpointStore::list() const {
  std::vector<fs::path> out;
  std::error_code ec;
  for (auto& [step, path] : step_folders(dir_))
    if (fs::is_regular_file(path / kManifest, ec)) out.push_back(path);
  return out;
}

}  // namespace loom

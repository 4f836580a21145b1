#include "core/io/checkpoint.h"

#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/io/atomic_file.h"
#include "core/text/cat.h"
#include "core/io/crc32c.h"
#include "core/error.h"
#include "core/log.h"

namespace loom {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr const char* kManifest = "MANIFEST.json";
constexpr const char* kTensors = "tensors.safetensors";
constexpr const char* kState = "state.json";
constexpr const char* kFormat = "loom-checkpoint";
constexpr int kVersion = 1;

// ---- small file-system helpers (no std::filesystem::remove_all: libtorch.so exports a broken copy) ----

// Deletes a file or a folder tree; true when nothing is left.
bool remove_tree(const fs::path& path) {
  nftw(path.c_str(), [](const char* p, const struct stat*, int, FTW*) { return ::remove(p); }, 16,
       FTW_DEPTH | FTW_PHYS);
  struct stat st;
  return ::lstat(path.c_str(), &st) != 0;
}

void fsync_path(const fs::path& path, bool directory) {
  int fd = ::open(path.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

// Writes `bytes` to `path` (created or truncated) and fsyncs it.
void write_file(const fs::path& path, std::string_view bytes, const std::string& what) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw UserError(cat(what, ": cannot create ", path.string(), " (", std::strerror(errno), ")."));
  const char* p = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      throw UserError(cat(what, ": writing ", path.string(), " failed (", std::strerror(err), ")."));
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0)
    throw UserError(cat(what, ": flushing ", path.string(), " failed (", std::strerror(errno), ")."));
}

std::optional<std::string> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return std::move(out).str();
}

// CRC32C and size of a file, streamed.
std::optional<std::pair<uint64_t, uint32_t>> file_crc(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::vector<char> buffer(1 << 20);
  uint32_t crc = 0;
  uint64_t size = 0;
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    std::streamsize n = in.gcount();
    if (n <= 0) break;
    crc = crc32c_extend(crc, buffer.data(), static_cast<std::size_t>(n));
    size += static_cast<uint64_t>(n);
  }
  if (in.bad()) return std::nullopt;
  return std::make_pair(size, crc);
}

void write_pointer(const fs::path& dir, const std::string& name, const std::string& text) {
  write_file_atomically(dir / name, text + "\n");
}

std::string trim(std::string s) {
  auto blank = [](unsigned char c) { return std::isspace(c) != 0; };
  s.erase(s.begin(), std::find_if_not(s.begin(), s.end(), blank));
  s.erase(std::find_if_not(s.rbegin(), s.rend(), blank).base(), s.end());
  return s;
}

bool safe_name(const std::string& name) {
  if (name.empty() || name == "." || name == "..") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
  });
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

// ---- manifest ----

struct Manifest {
  int64_t step = 0;
  std::map<std::string, double> metrics;
  std::vector<std::pair<std::string, std::pair<uint64_t, uint32_t>>> files;  // name -> (size, crc32c)
};

[[noreturn]] void fail(const fs::path& folder, const std::string& file, const std::string& what) {
  throw UserError(cat("checkpoint ", folder.string(), ": ", file, ": ", what));
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
      m.files.emplace_back(name, std::make_pair(entry.at("size").get<uint64_t>(), entry.at("crc32c").get<uint32_t>()));
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

// The manifest's metrics only (for best tracking); nullopt when unreadable.
std::optional<Manifest> try_manifest(const fs::path& folder) {
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
    auto got = file_crc(path);
    if (!got) fail(folder, name, "cannot be read");
    if (got->first != expect.first)
      fail(folder, name, cat("size is ", got->first, " bytes, the manifest says ", expect.first, " (truncated?)"));
    if (got->second != expect.second) fail(folder, name, "CRC32C mismatch (the file is corrupt)");
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
    if (!bytes || bytes->size() != expect.first) fail(folder, name, "changed while being read");
    if (name == kState)
      out.contents.state_json = std::move(*bytes);
    else
      out.contents.blobs[name] = std::move(*bytes);
  }
  return out;
}

// load_latest's search, for a checkpoints folder.
std::optional<LoadedCheckpoint> latest_in(const fs::path& dir) {
  std::vector<fs::path> tried;
  auto attempt = [&](const fs::path& folder) -> std::optional<LoadedCheckpoint> {
    tried.push_back(folder);
    try {
      return load_folder(folder);
    } catch (const UserError& e) {
      LOOM_WARN("skipping ", e.what());
      return std::nullopt;
    }
  };
  std::error_code ec;
  if (auto name = read_pointer(dir, "latest")) {
    if (safe_name(*name) && fs::is_directory(dir / *name, ec)) {
      if (auto loaded = attempt(dir / *name)) return loaded;
    } else {
      LOOM_WARN("checkpoint ", dir.string(), ": 'latest' names '", *name,
                "', which does not exist; looking for the newest complete checkpoint instead");
    }
  }
  auto folders = step_folders(dir);
  for (auto it = folders.rbegin(); it != folders.rend(); ++it) {
    if (std::find(tried.begin(), tried.end(), it->second) != tried.end()) continue;
    if (auto loaded = attempt(it->second)) return loaded;
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
    throw UserError(cat("checkpoint ", dir_.string(), ": best_mode must be 'min' or 'max', got '", options_.best_mode,
                        "'"));
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
    pid_t pid = 0;
    if (dash != std::string::npos && dash + 1 < name.size() &&
        std::all_of(name.begin() + dash + 1, name.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
        name.size() - dash - 1 < 10)
      pid = static_cast<pid_t>(std::stol(name.substr(dash + 1)));
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
      throw UserError(cat(where, ": blob name '", name,
                          "' is not a safe file name (use letters, digits, '.', '_' and '-')"));
    if (name == kTensors || name == kState || name == kManifest || name.rfind(".tmp-", 0) == 0)
      throw UserError(cat(where, ": blob name '", name, "' is reserved"));
  }
  std::error_code ec;
  fs::create_directories(dir_, ec);
  const std::string name = folder_name(step);
  const fs::path final_path = dir_ / name;
  const fs::path tmp = dir_ / cat(".tmp-", name, "-", ::getpid());
  const fs::path old = dir_ / cat(".tmp-old-", name, "-", ::getpid());
  // The best before this save (read now: this save may replace the folder it names).
  auto best = current_best(name);

  remove_tree(tmp);
  try {
    fs::create_directory(tmp, ec);
    if (ec) throw UserError(cat(where, ": cannot create ", tmp.string(), " (", ec.message(), ")"));
    json files = json::object();
    weights::write((tmp / kTensors).string(), contents.tensors);
    auto crc = file_crc(tmp / kTensors);
    if (!crc) throw UserError(cat(where, ": cannot read back ", (tmp / kTensors).string()));
    files[kTensors] = {{"size", crc->first}, {"crc32c", crc->second}};
    auto put = [&](const std::string& file, const std::string& bytes) {
      write_file(tmp / file, bytes, where);
      files[file] = {{"size", bytes.size()}, {"crc32c", crc32c(bytes)}};
    };
    put(kState, contents.state_json);
    for (const auto& [blob, bytes] : contents.blobs) put(blob, bytes);

    json m = {{"format", kFormat}, {"version", kVersion}, {"step", step}, {"files", files}};
    json jm = json::object();
    for (const auto& [k, v] : metrics) jm[k] = std::isfinite(v) ? json(v) : json(nullptr);
    m["metrics"] = jm;
    write_file(tmp / kManifest, m.dump(2) + "\n", where);
    fsync_path(tmp, true);

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
    fsync_path(dir_, true);
    if (replaced) remove_tree(old);
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
    auto m = try_manifest(folder);
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
    if (name == just_written || name == best) continue;
    // Renamed first, so that a crash mid-deletion leaves a .tmp- leftover, not a half-deleted checkpoint.
    const fs::path doomed = dir_ / cat(".tmp-prune-", name, "-", ::getpid());
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

LoadedCheckpoint CheckpointStore::load(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw UserError(cat("checkpoint ", path.string(), ": does not exist"));
  const std::string name = path.filename().string();
  if (fs::exists(path / kManifest, ec) || parse_step(name) || name.rfind(".tmp-", 0) == 0)
    return load_folder(path);
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

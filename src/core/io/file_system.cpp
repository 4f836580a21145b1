#include "core/io/file_system.h"

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/log.h"
#include "core/text/cat.h"

namespace loom {
namespace fs = std::filesystem;

fs::path temporary_path(const fs::path& target, const std::string& role) {
  const fs::path named = target.has_filename() ? target : target.parent_path();  // "a/b/" is "a/b"
  return named.parent_path() / cat(".tmp-", role.empty() ? "" : role + "-", named.filename().string(), "-", ::getpid());
}

int64_t temporary_writer(const std::string& filename) {
  const auto dash = filename.rfind('-');
  if (filename.rfind(".tmp-", 0) != 0 || dash == std::string::npos || dash < 5) return 0;
  const std::string digits = filename.substr(dash + 1);
  if (digits.empty() || digits.size() > 9 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return 0;
  return std::stoll(digits);
}

void write_durably(const fs::path& path, const std::function<void(std::ostream&)>& write) {
  auto failure = [&](const std::string& why) { return UserError(cat("cannot write ", path.string(), ": ", why)); };
  // errno of the first failed step, which the stream itself does not keep ("disk full" is ENOSPC).
  auto reason = [](int err, const char* fallback) { return err ? std::string(std::strerror(err)) : fallback; };
  std::error_code ec;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  if (ec) throw failure(cat("cannot create the folder ", path.parent_path().string(), " (", ec.message(), ")"));
  const fs::path temporary = temporary_path(path);
  try {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) throw failure(cat("cannot create ", temporary.string(), " (", std::strerror(errno), ")"));
    errno = 0;
    write(out);
    int err = errno;
    out.close();  // flushes: a full disk shows here at the latest
    if (!err) err = errno;
    if (!out) throw failure(cat("writing ", temporary.string(), " failed (", reason(err, "I/O error"), ")"));
    // On disk before the rename, so that a crash leaves the old file or the complete new one. A second
    // descriptor is enough: Linux reports a writeback error to the next fsync of the file, from any.
    const int fd = ::open(temporary.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::fsync(fd) != 0) {
      const int e = errno;
      if (fd >= 0) ::close(fd);
      throw failure(cat("flushing ", temporary.string(), " failed (", std::strerror(e), ")"));
    }
    ::close(fd);
    fs::rename(temporary, path, ec);
    if (ec) throw failure(cat("renaming ", temporary.string(), " failed (", ec.message(), ")"));
  } catch (...) {
    fs::remove(temporary, ec);
    throw;
  }
  sync_folder(path.has_parent_path() ? path.parent_path() : fs::path("."));
}

void sync_folder(const fs::path& folder) {
  const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  // The rename has happened, so failing now would report a write that readers already see; a folder
  // fsync that fails for real (EIO, not a file system without it) is still worth a warning.
  if (::fsync(fd) != 0 && errno != EINVAL && errno != ENOTSUP)
    LOOM_WARN("cannot flush the folder ", folder.string(), " to disk (", std::strerror(errno), ")");
  ::close(fd);
}

bool remove_tree(const fs::path& path) {
  nftw(
      path.c_str(), [](const char* p, const struct stat*, int, FTW*) { return ::remove(p); }, 16, FTW_DEPTH | FTW_PHYS);
  struct stat st;
  return ::lstat(path.c_str(), &st) != 0;
}

std::optional<std::string> read_file(const fs::path& path, std::string* why) {
  auto fail = [why](std::string reason) -> std::optional<std::string> {
    if (why) *why = std::move(reason);
    return std::nullopt;
  };
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (!fs::exists(status))
    return fail(ec && ec != std::errc::no_such_file_or_directory ? ec.message() : "file not found");
  // A folder reads as empty, and /dev/zero or a FIFO never ends.
  if (fs::is_directory(status)) return fail("it is a folder, not a file");
  if (!fs::is_regular_file(status)) return fail("it is not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(cat("cannot open it (", std::strerror(errno), ")"));
  std::string text;
  char buffer[1 << 16];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) text.append(buffer, static_cast<std::size_t>(in.gcount()));
  if (in.bad()) return fail("a read error");
  return text;
}

}  // namespace loom

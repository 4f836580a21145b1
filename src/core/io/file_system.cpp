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
  std::error_code ec;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  const fs::path temporary = temporary_path(path);
  auto failure = [&](const std::string& why) { return UserError(cat("cannot write ", path.string(), ": ", why)); };
  try {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) throw failure(cat("cannot create ", temporary.string(), " (", std::strerror(errno), ")"));
    write(out);
    out.close();
    if (!out) throw failure(cat("writing ", temporary.string(), " failed (disk full?)"));
    // On disk before the rename, so that a crash leaves the old file or the complete new one.
    const int fd = ::open(temporary.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::fsync(fd) != 0) {
      const int err = errno;
      if (fd >= 0) ::close(fd);
      throw failure(cat("flushing ", temporary.string(), " failed (", std::strerror(err), ")"));
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
  ::fsync(fd);
  ::close(fd);
}

bool remove_tree(const fs::path& path) {
  nftw(
      path.c_str(), [](const char* p, const struct stat*, int, FTW*) { return ::remove(p); }, 16, FTW_DEPTH | FTW_PHYS);
  struct stat st;
  return ::lstat(path.c_str(), &st) != 0;
}

std::optional<std::string> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return std::move(out).str();
}

}  // namespace loom

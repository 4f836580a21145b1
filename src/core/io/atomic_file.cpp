#include "core/io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/text/cat.h"
#include "core/error.h"

namespace loom {

void write_file_atomically(const std::filesystem::path& path, const std::string& text) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  // Hidden, and named like every other temporary of the project (".tmp-*"), so cleanups recognise it.
  std::filesystem::path temporary = path.parent_path() / cat(".tmp-", path.filename().string(), "-", getpid());
  std::FILE* file = std::fopen(temporary.c_str(), "wb");
  bool ok = file && std::fwrite(text.data(), 1, text.size(), file) == text.size();
  ok = file && std::fflush(file) == 0 && fsync(fileno(file)) == 0 && ok;
  if (file) ok = std::fclose(file) == 0 && ok;
  if (!ok || std::rename(temporary.c_str(), path.c_str()) != 0) {
    std::string why = std::strerror(errno);
    std::remove(temporary.c_str());
    throw UserError(cat("cannot write ", path.string(), ": ", why));
  }
  // The rename itself is durable only once the folder is synced.
  int folder = open(path.parent_path().empty() ? "." : path.parent_path().c_str(), O_RDONLY | O_DIRECTORY);
  if (folder >= 0) {
    fsync(folder);
    close(folder);
  }
}

}  // namespace loom

#include "data/synthetic/generated_folder.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <sstream>
#include <vector>

#include "core/error.h"
#include "core/io/atomic_file.h"
#include "core/io/file_system.h"
#include "core/text/cat.h"

namespace loom::data {

namespace fs = std::filesystem;

namespace {

void stamp_folder(const fs::path& tmp, const std::string& stamp) {
  // Everything written is on disk before the stamp that declares it complete (one syncfs, not an fsync
  // per image); write_file_atomically checks and flushes the stamp itself.
  if (const int fd = ::open(tmp.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); fd >= 0) {
    const bool synced = ::syncfs(fd) == 0;
    const int err = errno;
    ::close(fd);
    if (!synced)
      throw UserError(cat("cannot flush the generated data in ", tmp.string(), " (", std::strerror(err), ")"));
  }
  write_file_atomically(tmp / "done", stamp);
}

}  // namespace

void write_generated_png(const fs::path& path, const cv::Mat& bgr) {
  std::vector<uchar> bytes;
  if (!cv::imencode(".png", bgr, bytes)) throw UserError(cat("cannot encode the PNG image ", path.string()));
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) throw UserError(cat("cannot write ", path.string(), " (", std::strerror(errno), ")"));
}

bool generated_folder_ready(const std::string& dir, const std::string& stamp) {
  std::ifstream in(fs::path(dir) / "done");
  std::stringstream text;
  text << in.rdbuf();
  return in && text.str() == stamp;
}

void generate_folder(const std::string& dir, const std::string& stamp,
                     const std::function<void(const fs::path& tmp)>& write) {
  if (generated_folder_ready(dir, stamp)) return;
  const fs::path target(dir);
  const fs::path tmp = temporary_path(target);
  remove_tree(tmp);
  fs::create_directories(tmp);
  try {
    write(tmp);
    stamp_folder(tmp, stamp);
  } catch (...) {
    remove_tree(tmp);
    throw;
  }
  // Another process (a rank of the same job) may have finished first: keep its folder, which readers
  // may already be using.
  if (generated_folder_ready(dir, stamp)) {
    remove_tree(tmp);
    return;
  }
  // Swap into place; an older (different) version is moved aside first and deleted after.
  const fs::path old = temporary_path(target, "old");
  std::error_code ec;
  if (fs::exists(target)) fs::rename(target, old, ec);
  fs::rename(tmp, target, ec);
  if (ec) {
    remove_tree(tmp);  // another process won the race; its folder is used if it is complete
    if (!generated_folder_ready(dir, stamp))
      throw UserError(cat("cannot create the generated data folder ", dir, ": ", ec.message()));
  }
  sync_folder(target.has_parent_path() ? target.parent_path() : fs::path("."));
  remove_tree(old);
}

}  // namespace loom::data

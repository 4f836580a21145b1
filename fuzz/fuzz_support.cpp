#include "fuzz_support.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/io/file_system.h"

namespace loom::fuzz {
namespace {

void die(const char* what) {
  std::perror(what);
  std::abort();
}

// The whole buffer from offset 0, through short writes.
void write_all(int fd, const uint8_t* data, size_t size) {
  for (size_t done = 0; done < size;) {
    ssize_t n = pwrite(fd, data + done, size - done, static_cast<off_t>(done));
    if (n <= 0) die("fuzz: pwrite");
    done += static_cast<size_t>(n);
  }
}

}  // namespace

MemoryFile::MemoryFile() : fd_(memfd_create("loom-fuzz-input", MFD_CLOEXEC)) {
  if (fd_ < 0) die("fuzz: memfd_create");
  path_ = "/proc/self/fd/" + std::to_string(fd_);
}

const std::string& MemoryFile::write(const uint8_t* data, size_t size) {
  if (ftruncate(fd_, 0) != 0) die("fuzz: ftruncate");
  write_all(fd_, data, size);
  return path_;
}

const std::string& scratch_dir() {
  static const std::string dir = [] {
    std::string d = "/dev/shm/loom-fuzz-" + std::to_string(getpid());
    std::error_code ec;
    std::filesystem::create_directories(d, ec);
    if (ec) die("fuzz: cannot create the scratch folder under /dev/shm");
    // libFuzzer leaves through exit() after -max_total_time / -runs: the folder goes with it.
    std::atexit([] { remove_tree("/dev/shm/loom-fuzz-" + std::to_string(getpid())); });
    return d;
  }();
  return dir;
}

std::string write_scratch(const std::string& name, const uint8_t* data, size_t size) {
  const std::string path = scratch_dir() + "/" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!out) die("fuzz: cannot write the scratch file");
  return path;
}

}  // namespace loom::fuzz

// Before the first input: smaller parser limits than the defaults, so that inputs which reach a limit
// (alias bombs, huge images) are refused in milliseconds and within -rss_limit_mb; the checks are the
// same. setenv without overwrite: LOOM_LIMIT_* set by hand still wins.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  setenv("LOOM_LIMIT_CONFIG_NODES", "100000", 0);
  setenv("LOOM_LIMIT_PICKLE_OBJECTS", "1000000", 0);
  setenv("LOOM_LIMIT_IMAGE_PIXELS", "4000000", 0);
  setenv("OPENCV_IO_MAX_IMAGE_PIXELS", "4000000", 0);
  return 0;
}

#pragma once
// Shared by the fuzz targets (fuzz/README.md): the input as a file for readers that only take a path,
// and the rule that a project error (UserError and what derives from it: ConfigError...) is a normal
// outcome while anything else (a crash, a sanitizer report, another exception type) is a finding.
#include <cstddef>
#include <cstdint>
#include <string>

namespace loom::fuzz {

// An anonymous in-memory file (memfd) that each input overwrites; `path()` names it as
// /proc/self/fd/N, so readers open it like any file and nothing is left on disk.
class MemoryFile {
 public:
  MemoryFile();
  // Replaces the contents; returns path().
  const std::string& write(const uint8_t* data, size_t size);
  const std::string& path() const { return path_; }

 private:
  int fd_;
  std::string path_;
};

// A per-process folder under /dev/shm for readers that canonicalise paths (which a memfd's
// /proc/self/fd link would not survive); removed at exit.
const std::string& scratch_dir();
// Writes `bytes` to scratch_dir()/name and returns the path.
std::string write_scratch(const std::string& name, const uint8_t* data, size_t size);

// Runs f; an exception derived from loom::UserError is the expected refusal of a bad input and is
// swallowed. Everything else propagates (libFuzzer reports it as a crash, with the stack).
template <class F>
void expect_user_errors(F&& f);

}  // namespace loom::fuzz

#include "core/error.h"

template <class F>
void loom::fuzz::expect_user_errors(F&& f) {
  try {
    f();
  } catch (const loom::UserError&) {
  }
}

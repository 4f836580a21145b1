// Overwrites one target again and again with the project's own writers, so that a test can SIGKILL it
// mid-write and check what a reader then sees (tests/core/io/test_kill_during_write.cpp). Generation g's
// contents are filled with g throughout; after each complete write the worker appends "g\n" to PROGRESS
// with one write(2), which the kernel keeps even when the process is killed right after.
//   usage: write_worker KIND TARGET FIRST_GENERATION PROGRESS [COUNT]
//   KIND: atomic (write_file_atomically), safetensors, torchsave (weights::write), checkpoint
//   (CheckpointStore::save into the folder TARGET); COUNT generations (default: until killed).
#include <fcntl.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cstdint>
#include <iostream>
#include <string>

#include "core/error.h"
#include "core/io/atomic_file.h"
#include "core/io/checkpoint.h"
#include "core/io/weights.h"
#include "core/text/cat.h"

namespace {

// The atomic file: this line, repeated (about 80 KB), so that a torn write shows as a short or mixed file.
constexpr int64_t kAtomicLines = 4096;

std::string atomic_text(int64_t g) {
  const std::string line = loom::cat("generation ", g, "\n");
  std::string text;
  for (int64_t i = 0; i < kAtomicLines; ++i) text += line;
  return text;
}

// About 2.5 MB of tensors, every element g; a scalar records g for the reader.
loom::weights::NamedTensors tensors_of(int64_t g) {
  const auto v = static_cast<double>(g);
  return {{"a", torch::full({512, 1024}, v, torch::kFloat)},
          {"b", torch::full({64, 1024}, v, torch::kDouble)},
          {"generation", torch::full({}, g, torch::kLong)}};
}

void write_generation(const std::string& kind, const std::string& target, int64_t g) {
  if (kind == "atomic") {
    loom::write_file_atomically(target, atomic_text(g));
  } else if (kind == "safetensors" || kind == "torchsave") {
    loom::weights::write(target, tensors_of(g));
  } else if (kind == "checkpoint") {
    loom::CheckpointOptions options;
    options.keep_last = 0;
    // Two steps in turn: every save replaces an existing folder (set aside, then deleted) and moves `latest`.
    loom::CheckpointContents c;
    c.tensors = tensors_of(g);
    c.state_json = loom::cat("{\"generation\": ", g, "}");
    c.blobs["optimizer.bin"] = std::string(512 * 1024, static_cast<char>('a' + g % 26));
    c.blobs["generation.txt"] = loom::cat(g);
    loom::CheckpointStore(target, options).save(1 + g % 2, c);
  } else {
    throw loom::UserError(loom::cat("write_worker: unknown kind '", kind, "'"));
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::cerr << "usage: write_worker KIND TARGET FIRST_GENERATION PROGRESS [COUNT]\n";
    return 2;
  }
  try {
    const std::string kind = argv[1], target = argv[2];
    const int64_t first = std::stoll(argv[3]);
    const int64_t count = argc > 5 ? std::stoll(argv[5]) : -1;
    const int progress = ::open(argv[4], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (progress < 0) throw loom::UserError(loom::cat("write_worker: cannot open ", argv[4]));
    for (int64_t g = first; count < 0 || g < first + count; ++g) {
      write_generation(kind, target, g);
      const std::string line = loom::cat(g, "\n");
      if (::write(progress, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
        throw loom::UserError(loom::cat("write_worker: cannot write ", argv[4]));
    }
    ::close(progress);
    return 0;
  } catch (const loom::UserError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  }
}

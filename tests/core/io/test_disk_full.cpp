// A full disk (a small tmpfs mounted for the test) must make a write fail with a UserError naming the
// file, keep what was there before readable, and leave no temporary behind. Skipped where mounting is not
// permitted (not root, or no CAP_SYS_ADMIN in a container).
#include <sys/mount.h>
#include <torch/torch.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstring>

#include "core/error.h"
#include "core/io/atomic_file.h"
#include "core/io/checkpoint.h"
#include "core/io/file_system.h"
#include "core/io/weights.h"
#include "support/test_env.h"

namespace {

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using loom::cat;

// A tmpfs of `bytes` on a fresh scratch folder, unmounted when it goes out of scope (also when a
// REQUIRE fails), so a failing test leaves no mount behind.
class SmallDisk {
 public:
  SmallDisk(const std::string& name, std::size_t bytes) : dir_(loom::test::scratch(name) / "disk") {
    fs::create_directories(dir_);
    if (::geteuid() != 0) {
      why_not_ = "not root";
    } else if (::mount("tmpfs", dir_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, cat("size=", bytes).c_str()) != 0) {
      why_not_ = std::strerror(errno);
    }
  }
  ~SmallDisk() {
    if (why_not_.empty()) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  SmallDisk(const SmallDisk&) = delete;
  SmallDisk& operator=(const SmallDisk&) = delete;

  bool mounted() const { return why_not_.empty(); }
  const std::string& why_not() const { return why_not_; }
  const fs::path& dir() const { return dir_; }

 private:
  fs::path dir_;
  std::string why_not_;
};

#define SKIP_UNLESS_MOUNTED(disk)                                                       \
  if (!(disk).mounted()) {                                                              \
    WARN("SKIP: cannot mount a tmpfs on " << (disk).dir() << ": " << (disk).why_not()); \
    return;                                                                             \
  }

// ".tmp-" entries anywhere under `dir`.
std::vector<std::string> temporaries(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.path().filename().string().rfind(".tmp-", 0) == 0) out.push_back(e.path().string());
  return out;
}

// The message of the UserError `write` throws; fails the test when it throws nothing or something else.
template <class F>
std::string user_error_of(F&& write) {
  try {
    write();
  } catch (const loom::UserError& e) {
    return e.what();
  }
  FAIL("the write did not throw a UserError");
  return "";
}

loom::CheckpointContents checkpoint_of(float value, int64_t tensor_floats, std::size_t blob_bytes) {
  loom::CheckpointContents c;
  c.tensors = {{"w", torch::full({tensor_floats}, value)}};
  c.state_json = cat("{\"value\": ", value, "}");
  c.blobs["optimizer.bin"] = std::string(blob_bytes, 'o');
  return c;
}

}  // namespace

TEST_CASE("disk full: a checkpoint that does not fit fails naming the file and keeps the previous one",
          "[io][disk_full]") {
  SmallDisk disk("disk_full_checkpoint", 4 << 20);
  SKIP_UNLESS_MOUNTED(disk);
  const fs::path dir = disk.dir() / "checkpoints";
  loom::CheckpointOptions options;
  options.keep_last = 0;
  loom::CheckpointStore store(dir, options);
  store.save(1, checkpoint_of(1, 256 * 1024, 1024));  // 1 MB

  // Too big in the tensors file, in a blob, and as a same-step replacement of the one there.
  struct Case {
    const char* what;
    int64_t step, floats;
    std::size_t blob;
  };
  for (const Case& c : {Case{"tensors", 2, 1024 * 1024, 1024}, Case{"blob", 2, 1024, 4 << 20},
                        Case{"same step", 1, 1024 * 1024, 1024}}) {
    INFO(c.what);
    const std::string message = user_error_of([&] { store.save(c.step, checkpoint_of(2, c.floats, c.blob)); });
    CHECK_THAT(message, Contains(dir.string()));
    CHECK_THAT(message, Contains("No space left on device"));
    CHECK(temporaries(disk.dir()).empty());
    auto loaded = store.load_latest();
    REQUIRE(loaded);
    CHECK(loaded->step == 1);
    CHECK(loaded->contents.tensors.at(0).second.eq(1).all().item<bool>());
    CHECK(loaded->contents.tensors.at(0).second.numel() == 256 * 1024);
  }
  // The space a failed save took is free again.
  store.save(3, checkpoint_of(3, 256 * 1024, 1024));
  CHECK(store.load_latest()->step == 3);
}

TEST_CASE("disk full: an atomic file or weight file that does not fit fails and keeps the old one", "[io][disk_full]") {
  SmallDisk disk("disk_full_files", 1 << 20);
  SKIP_UNLESS_MOUNTED(disk);
  const fs::path text = disk.dir() / "sub" / "status.json";
  const std::string old_text(100 * 1024, 'x');
  loom::write_file_atomically(text, old_text);
  std::string message = user_error_of([&] { loom::write_file_atomically(text, std::string(2 << 20, 'y')); });
  CHECK_THAT(message, Contains(text.string()));
  CHECK_THAT(message, Contains("No space left on device"));
  CHECK(loom::read_file(text) == old_text);
  CHECK(temporaries(disk.dir()).empty());

  const fs::path weights = disk.dir() / "w.safetensors";
  loom::weights::write(weights.string(), {{"w", torch::full({1024}, 1.0f)}});
  message = user_error_of([&] { loom::weights::write(weights.string(), {{"w", torch::full({512 * 1024}, 2.0f)}}); });
  CHECK_THAT(message, Contains(weights.string()));
  CHECK(loom::weights::read(weights.string()).at(0).second.eq(1).all().item<bool>());
  CHECK(temporaries(disk.dir()).empty());
}

// Killing a writer at a random moment (SIGKILL: no handler, no cleanup) must leave every kind of file
// Loom writes as one complete generation, old or new, and nothing that stops the next writer: small
// atomic files, safetensors and torch.save weight files, and whole checkpoints. The writer is
// tests/support/workers/write_worker.cpp, which fills generation g with g throughout.
#include <signal.h>
#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <random>
#include <sstream>
#include <thread>

#include "core/io/checkpoint.h"
#include "core/io/file_system.h"
#include "core/io/weights.h"
#include "support/test_env.h"

namespace {

namespace fs = std::filesystem;
using loom::cat;

constexpr int64_t kAtomicLines = 4096;  // as write_worker writes them

// The generation a weight file's tensors hold; fails the test unless all of them hold it.
int64_t tensors_generation(const loom::weights::NamedTensors& tensors, const std::string& where) {
  INFO(where);
  REQUIRE(tensors.size() == 3);
  REQUIRE(tensors[2].first == "generation");
  const int64_t g = tensors[2].second.item<int64_t>();
  const at::Tensor& a = tensors[0].second;
  const at::Tensor& b = tensors[1].second;
  REQUIRE(a.sizes() == at::IntArrayRef({512, 1024}));
  REQUIRE(b.sizes() == at::IntArrayRef({64, 1024}));
  CHECK(a.eq(static_cast<double>(g)).all().item<bool>());
  CHECK(b.eq(static_cast<double>(g)).all().item<bool>());
  return g;
}

// The generation `target` holds, read with the project's readers; fails the test when it is not one
// complete generation.
int64_t read_generation(const std::string& kind, const fs::path& target) {
  if (kind == "atomic") {
    auto text = loom::read_file(target);
    REQUIRE(text);
    const auto eol = text->find('\n');
    REQUIRE(eol != std::string::npos);
    const std::string line = text->substr(0, eol + 1);
    REQUIRE(line.rfind("generation ", 0) == 0);
    REQUIRE(text->size() == line.size() * kAtomicLines);
    bool same = true;
    for (std::size_t at = 0; at < text->size() && same; at += line.size())
      same = text->compare(at, line.size(), line) == 0;
    REQUIRE(same);
    return std::stoll(line.substr(11));
  }
  if (kind != "checkpoint") return tensors_generation(loom::weights::read(target.string()), target.string());
  loom::CheckpointOptions options;
  options.keep_last = 0;
  auto loaded = loom::CheckpointStore(target, options).load_latest();
  REQUIRE(loaded);
  const int64_t g = tensors_generation(loaded->contents.tensors, loaded->path.string());
  CHECK(loaded->step == 1 + g % 2);
  CHECK(loaded->contents.state_json == cat("{\"generation\": ", g, "}"));
  CHECK(loaded->contents.blobs.at("generation.txt") == cat(g));
  CHECK(loaded->contents.blobs.at("optimizer.bin") == std::string(512 * 1024, static_cast<char>('a' + g % 26)));
  return g;
}

// Generations the worker reported complete, in order.
std::vector<int64_t> completed(const fs::path& progress) {
  std::istringstream in(loom::test::read_text(progress));
  std::vector<int64_t> out;
  for (int64_t g; in >> g;) out.push_back(g);
  return out;
}

std::vector<std::string> worker_args(const std::string& kind, const fs::path& target, int64_t first,
                                     const fs::path& progress) {
  return {kind, target.string(), cat(first), progress.string()};
}

// Runs the worker for `count` generations; returns its exit status.
int run_worker(const std::string& kind, const fs::path& target, int64_t first, const fs::path& progress,
               int64_t count) {
  auto args = worker_args(kind, target, first, progress);
  args.push_back(cat(count));
  const pid_t pid = loom::test::spawn((loom::test::bin_dir() / "write_worker").string(), args);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Entries named ".tmp-..." directly in `dir` or, for a checkpoint, in its folder.
int leftovers(const fs::path& dir) {
  int n = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.path().filename().string().rfind(".tmp-", 0) == 0) ++n;
  return n;
}

}  // namespace

TEST_CASE("kill during write: every target reads back as one whole generation, old or new", "[io][kill]") {
  struct Kind {
    std::string name, file;
  };
  const std::vector<Kind> kinds = {
      {"atomic", "pointer.txt"}, {"safetensors", "w.safetensors"}, {"torchsave", "w.pt"}, {"checkpoint", "ckpt"}};
  constexpr int kTrialsPerKind = 10;
  std::mt19937 rng(20240611);
  // Past the first complete generation of each run, so the kill lands in the write loop, not in startup.
  std::uniform_int_distribution<int> delay_us(0, 40000);
  int survived = 0;
  std::string report;
  for (const auto& kind : kinds) {
    const fs::path dir = loom::test::scratch(cat("kill_during_write/", kind.name));
    const fs::path target = dir / kind.file, progress = dir / "progress";
    REQUIRE(run_worker(kind.name, target, 0, progress, 1) == 0);
    int64_t g = read_generation(kind.name, target);
    REQUIRE(g == 0);
    int64_t kept_old = 0;
    for (int trial = 0; trial < kTrialsPerKind; ++trial) {
      INFO(kind.name << " trial " << trial);
      const std::size_t before = completed(progress).size();
      const pid_t pid = loom::test::spawn((loom::test::bin_dir() / "write_worker").string(),
                                          worker_args(kind.name, target, g + 1, progress));
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      while (completed(progress).size() == before && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      std::this_thread::sleep_for(std::chrono::microseconds(delay_us(rng)));
      ::kill(pid, SIGKILL);
      int status = 0;
      ::waitpid(pid, &status, 0);  // reaped: a zombie would still count as a live writer to cleanups
      REQUIRE(WIFSIGNALED(status));
      const auto done = completed(progress);
      REQUIRE(done.size() > before);
      const int64_t last = done.back();
      const int64_t read = read_generation(kind.name, target);
      // The one being written when killed may already be in place, before the worker reported it.
      CHECK((read == last || read == last + 1));
      kept_old += read == last;
      g = std::max(read, last);
      ++survived;
    }
    const int left = leftovers(dir);
    // The next writer starts over whatever the killed ones left.
    REQUIRE(run_worker(kind.name, target, g + 1, progress, 1) == 0);
    CHECK(read_generation(kind.name, target) == g + 1);
    // A checkpoint store removes dead writers' temporaries when it opens; other targets keep theirs.
    if (kind.name == "checkpoint") CHECK(leftovers(dir) == 0);
    report += cat(kind.name, ": ", kTrialsPerKind, " kills (", kept_old, " left the old generation), ", left,
                  " temporaries left before the next writer; ");
  }
  WARN(survived << " trials survived; " << report);
  CHECK(survived == static_cast<int>(kinds.size()) * kTrialsPerKind);
}

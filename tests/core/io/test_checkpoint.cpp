// loom::CheckpointStore: atomic step folders with a manifest, latest/best pointers, pruning, and
// recovery from corrupt, truncated, partial and leftover folders.
#include <torch/torch.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/io/checkpoint.h"
#include "core/log.h"
#include "support/test_env.h"

namespace {

namespace fs = std::filesystem;
using loom::CheckpointContents;
using loom::CheckpointOptions;
using loom::CheckpointStore;

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void spit(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

bool same_bits(const at::Tensor& a, const at::Tensor& b) {
  if (a.scalar_type() != b.scalar_type() || a.sizes() != b.sizes()) return false;
  auto ca = a.contiguous(), cb = b.contiguous();
  return std::memcmp(ca.data_ptr(), cb.data_ptr(), ca.nbytes()) == 0;
}

// A small checkpoint whose contents identify `step`.
CheckpointContents contents_for(int64_t step) {
  CheckpointContents c;
  c.tensors = {{"w", torch::full({2, 3}, static_cast<float>(step))}};
  c.state_json = loom::cat("{\"step\": ", step, "}");
  c.blobs["optimizer.bin"] = loom::cat("opt-", step);
  return c;
}

CheckpointOptions keep_all() {
  CheckpointOptions o;
  o.keep_last = 0;
  return o;
}

std::vector<std::string> names(const std::vector<fs::path>& paths) {
  std::vector<std::string> out;
  for (const auto& p : paths) out.push_back(p.filename().string());
  return out;
}

// Runs `fn` with the log going to a fresh file; returns what was logged.
template <class F>
std::string logged(const fs::path& dir, F&& fn) {
  static int n = 0;
  const fs::path path = dir / loom::cat("log-", n++, ".txt");
  loom::log::set_level(loom::log::Level::info);
  loom::log::set_file(path.string());
  fn();
  loom::log::flush();
  return slurp(path);
}

}  // namespace

TEST_CASE("checkpoint round trip: tensors bitwise, state json, binary blobs", "[checkpoint]") {
  auto dir = loom::test::scratch("checkpoint/roundtrip") / "checkpoints";
  CheckpointStore store(dir, {});

  CheckpointContents c;
  auto f32 = torch::randn({3, 4});
  f32[0][0] = std::numeric_limits<float>::quiet_NaN();
  f32[0][1] = -0.0f;
  c.tensors = {{"model.f32", f32},
               {"model.f64", torch::randn({5}, torch::kFloat64)},
               {"model.f16", torch::randn({2, 2}).to(torch::kHalf)},
               {"model.bf16", torch::randn({7}).to(torch::kBFloat16)},
               {"rng.cpu", torch::randint(0, 255, {16}, torch::kUInt8)},
               {"counts", torch::arange(-3, 3, torch::kInt64)},
               {"mask", torch::rand({4}) > 0.5},
               {"scalar", torch::tensor(3.5)}};
  c.state_json = R"({"step": 40, "epoch": 2, "sampler": {"position": 1234}})";
  const std::string binary("\0\x01\xff\0nul\0", 8);
  c.blobs["optimizer.pt"] = binary;
  c.blobs["config.yaml"] = "model:\n  widths: [8, 16]\n";
  c.blobs["empty"] = "";

  auto folder = store.save(40, c, {{"loss", 0.5}});
  CHECK(folder == dir / "step-000000040");
  CHECK(fs::is_regular_file(folder / "MANIFEST.json"));
  CHECK(fs::is_regular_file(folder / "tensors.safetensors"));
  CHECK(slurp(folder / "state.json") == c.state_json);
  CHECK(slurp(folder / "optimizer.pt") == binary);
  CHECK(slurp(dir / "latest").find("step-000000040") == 0);

  auto check = [&](const loom::LoadedCheckpoint& loaded) {
    CHECK(loaded.step == 40);
    CHECK(loaded.path == folder);
    CHECK(loaded.contents.state_json == c.state_json);
    CHECK(loaded.contents.blobs == c.blobs);
    REQUIRE(loaded.contents.tensors.size() == c.tensors.size());
    for (const auto& [name, t] : c.tensors) {
      auto it = std::find_if(loaded.contents.tensors.begin(), loaded.contents.tensors.end(),
                             [&](const auto& p) { return p.first == name; });
      REQUIRE(it != loaded.contents.tensors.end());
      INFO(name);
      CHECK(same_bits(it->second, t));
    }
  };
  check(CheckpointStore::load(folder));
  check(CheckpointStore::load(dir));  // a checkpoints folder means its latest
  auto latest = store.load_latest();
  REQUIRE(latest);
  check(*latest);
  CHECK(store.list() == std::vector<fs::path>{folder});

  // An empty tensor list is fine too.
  CheckpointContents bare;
  bare.state_json = "{}";
  store.save(41, bare);
  auto l2 = CheckpointStore::load(dir / "step-000000041");
  CHECK(l2.contents.tensors.empty());
  CHECK(l2.contents.blobs.empty());
  CHECK(l2.contents.state_json == "{}");
}

TEST_CASE("checkpoint latest pointer and list order", "[checkpoint]") {
  auto dir = loom::test::scratch("checkpoint/latest");
  CheckpointStore store(dir, keep_all());
  CHECK_FALSE(store.load_latest());
  CHECK(store.list().empty());
  for (int64_t step : {5, 100, 20}) store.save(step, contents_for(step));
  // latest is the last saved, not the highest step
  CHECK(slurp(dir / "latest").find("step-000000020") == 0);
  CHECK(store.load_latest()->step == 20);
  CHECK(names(store.list()) == std::vector<std::string>{"step-000000005", "step-000000020", "step-000000100"});
  // saving the same step again replaces it
  auto again = contents_for(20);
  again.state_json = "{\"again\": true}";
  store.save(20, again);
  CHECK(CheckpointStore::load(dir / "step-000000020").contents.state_json == again.state_json);
  CHECK(store.list().size() == 3);
  for (const auto& e : fs::directory_iterator(dir)) CHECK(e.path().filename().string().rfind(".tmp-", 0) != 0);
}

TEST_CASE("checkpoint keep_last pruning keeps the best (min mode), across store instances", "[checkpoint]") {
  auto dir = loom::test::scratch("checkpoint/prune_min");
  CheckpointOptions o{.keep_last = 2, .best_metric = "val_loss", .best_mode = "min"};
  {
    CheckpointStore store(dir, o);
    store.save(1, contents_for(1), {{"val_loss", 3.0}});
    store.save(2, contents_for(2), {{"val_loss", 1.0}});  // best
    store.save(3, contents_for(3), {{"val_loss", 2.0}});
    store.save(4, contents_for(4), {{"val_loss", 1.5}});
    CHECK(names(store.list()) == std::vector<std::string>{"step-000000002", "step-000000003", "step-000000004"});
    CHECK(slurp(dir / "best").find("step-000000002") == 0);
    store.save(5, contents_for(5), {{"train_loss", 0.1}});  // no val_loss: best unchanged
    CHECK(names(store.list()) == std::vector<std::string>{"step-000000002", "step-000000004", "step-000000005"});
  }
  {
    CheckpointStore store(dir, o);  // a restart knows the best is 1.0
    store.save(6, contents_for(6), {{"val_loss", 1.2}});
    CHECK(slurp(dir / "best").find("step-000000002") == 0);
    CHECK(names(store.list()) == std::vector<std::string>{"step-000000002", "step-000000005", "step-000000006"});
    store.save(7, contents_for(7), {{"val_loss", 0.5}});  // new best: the old best is pruned
    CHECK(slurp(dir / "best").find("step-000000007") == 0);
    CHECK(names(store.list()) == std::vector<std::string>{"step-000000006", "step-000000007"});
  }
  {
    // best pointer lost: recovered from the manifests
    ::unlink((dir / "best").c_str());
    CheckpointStore store(dir, o);
    store.save(8, contents_for(8), {{"val_loss", 0.9}});
    CHECK(slurp(dir / "best").find("step-000000007") == 0);
    store.save(9, contents_for(9), {{"val_loss", 0.8}});
    CHECK(names(store.list()) == std::vector<std::string>{"step-000000007", "step-000000008", "step-000000009"});
  }
}

TEST_CASE("checkpoint keep_last pruning keeps the best (max mode)", "[checkpoint]") {
  auto dir = loom::test::scratch("checkpoint/prune_max");
  CheckpointOptions o{.keep_last = 1, .best_metric = "accuracy", .best_mode = "max"};
  {
    CheckpointStore store(dir, o);
    store.save(10, contents_for(10), {{"accuracy", 0.7}});
    store.save(20, contents_for(20), {{"accuracy", 0.9}});
    store.save(30, contents_for(30), {{"accuracy", 0.8}});
    store.save(40, contents_for(40), {{"accuracy", 0.85}});
    CHECK(names(store.list()) == std::vector<std::string>{"step-000000020", "step-000000040"});
  }
  CheckpointStore store(dir, o);
  store.save(50, contents_for(50), {{"accuracy", 0.89}});
  CHECK(slurp(dir / "best").find("step-000000020") == 0);
  CHECK(names(store.list()) == std::vector<std::string>{"step-000000020", "step-000000050"});
  store.save(60, contents_for(60), {{"accuracy", 0.95}});
  CHECK(slurp(dir / "best").find("step-000000060") == 0);
  CHECK(names(store.list()) == std::vector<std::string>{"step-000000060"});
  CHECK(store.load_latest()->step == 60);
}

TEST_CASE("checkpoint with a corrupt tensors file: load_latest warns and falls back", "[checkpoint]") {
  auto dir = loom::test::scratch("checkpoint/corrupt");
  CheckpointStore store(dir / "checkpoints", keep_all());
  store.save(30, contents_for(30));
  auto bad = store.save(40, contents_for(40));
  // flip one byte in the tensor data (the file's last byte)
  std::string bytes = slurp(bad / "tensors.safetensors");
  bytes.back() ^= 0x01;
  spit(bad / "tensors.safetensors", bytes);

  std::optional<loom::LoadedCheckpoint> loaded;
  auto log = logged(dir, [&] { loaded = store.load_latest(); });
  REQUIRE(loaded);
  CHECK(loaded->step == 30);
  CHECK(loaded->contents.state_json == contents_for(30).state_json);
  CHECK_THAT(log, Catch::Contains("step-000000040") && Catch::Contains("tensors.safetensors") &&
                      Catch::Contains("CRC32C mismatch"));

  // load() of the corrupt folder throws, naming the folder and the file
  try {
    CheckpointStore::load(bad);
    FAIL("no exception");
  } catch (const loom::UserError& e) {
    CHECK_THAT(e.what(), Catch::Contains("step-000000040") && Catch::Contains("tensors.safetensors: CRC32C mismatch"));
  }
  // all corrupt: nullopt after warnings, and load(dir) throws
  std::string s30 = slurp(dir / "checkpoints" / "step-000000030" / "state.json");
  s30[0] = '[';
  spit(dir / "checkpoints" / "step-000000030" / "state.json", s30);
  std::optional<loom::LoadedCheckpoint> none;
  log = logged(dir, [&] { none = store.load_latest(); });
  CHECK_FALSE(none);
  CHECK_THAT(log, Catch::Contains("step-000000030") && Catch::Contains("state.json"));
  CHECK_THROWS_AS(CheckpointStore::load(dir / "checkpoints"), loom::UserError);
  CHECK_THROWS_AS(CheckpointStore::load(dir), loom::UserError);  // a run folder: its checkpoints/
}

TEST_CASE("checkpoint with a truncated or missing file is rejected", "[checkpoint]") {
  auto dir = loom::test::scratch("checkpoint/truncated");
  CheckpointStore store(dir, keep_all());
  store.save(1, contents_for(1));
  auto folder = store.save(2, contents_for(2));
  std::string blob = slurp(folder / "optimizer.bin");
  spit(folder / "optimizer.bin", blob.substr(0, blob.size() - 2));
  CHECK_THROWS_WITH(CheckpointStore::load(folder),
                    Catch::Contains("step-000000002") && Catch::Contains("optimizer.bin") && Catch::Contains("size"));
  std::optional<loom::LoadedCheckpoint> loaded;
  auto log = logged(dir, [&] { loaded = store.load_latest(); });
  REQUIRE(loaded);
  CHECK(loaded->step == 1);
  CHECK_THAT(log, Catch::Contains("optimizer.bin"));

  ::unlink((folder / "optimizer.bin").c_str());
  CHECK_THROWS_WITH(CheckpointStore::load(folder), Catch::Contains("optimizer.bin: missing"));
  spit(folder / "MANIFEST.json", "{\"format\": \"loom-check");
  CHECK_THROWS_WITH(CheckpointStore::load(folder), Catch::Contains("MANIFEST.json: not valid JSON"));
  CHECK_THROWS_AS(CheckpointStore::load(dir / "nowhere"), loom::UserError);
}

TEST_CASE("checkpoint partial folders, leftovers and dangling latest", "[checkpoint]") {
  auto dir = loom::test::scratch("checkpoint/partial");
  {
    CheckpointStore store(dir, keep_all());
    store.save(10, contents_for(10));
    store.save(20, contents_for(20));
  }
  // a step folder without a MANIFEST (a partial copy) and a newer one named by latest
  fs::create_directories(dir / "step-000000030");
  spit(dir / "step-000000030" / "state.json", "{}");
  spit(dir / "latest", "step-000000030\n");
  // a crashed writer's temporary folder (pid 9999999 exceeds any pid_max, so it is not alive) and temp pointer file
  const fs::path leftover = dir / ".tmp-step-000000040-9999999";
  fs::create_directories(leftover);
  spit(leftover / "tensors.safetensors", "junk");
  spit(leftover / "MANIFEST.json", "{}");
  spit(dir / ".tmp-latest-9999999", "step-000000040");

  CheckpointStore store(dir, keep_all());
  CHECK_FALSE(fs::exists(leftover));
  CHECK_FALSE(fs::exists(dir / ".tmp-latest-9999999"));
  CHECK(names(store.list()) == std::vector<std::string>{"step-000000010", "step-000000020"});

  std::optional<loom::LoadedCheckpoint> loaded;
  auto log = logged(dir, [&] { loaded = store.load_latest(); });
  REQUIRE(loaded);
  CHECK(loaded->step == 20);
  CHECK_THAT(log, Catch::Contains("step-000000030") && Catch::Contains("MANIFEST.json"));

  // dangling and missing latest both fall back to scanning
  spit(dir / "latest", "step-000000099");
  log = logged(dir, [&] { loaded = store.load_latest(); });
  REQUIRE(loaded);
  CHECK(loaded->step == 20);
  CHECK_THAT(log, Catch::Contains("step-000000099"));
  ::unlink((dir / "latest").c_str());
  CHECK(store.load_latest()->step == 20);
  CHECK(CheckpointStore::load(dir).step == 20);

  // a leftover with no pid suffix is ignored by list/load_latest too
  fs::create_directories(dir / ".tmp-step-000000050-x");
  CHECK(store.load_latest()->step == 20);
  CheckpointStore again(dir, keep_all());
  CHECK_FALSE(fs::exists(dir / ".tmp-step-000000050-x"));
}

TEST_CASE("checkpoint interrupted replacement restores the set-aside folder", "[checkpoint]") {
  auto dir = loom::test::scratch("checkpoint/replace");
  {
    CheckpointStore store(dir, keep_all());
    store.save(7, contents_for(7));
  }
  // a writer died after moving step-7 aside, before renaming the new one in
  fs::rename(dir / "step-000000007", dir / ".tmp-old-step-000000007-9999999");
  fs::create_directories(dir / ".tmp-step-000000007-9999999");
  CheckpointStore store(dir, keep_all());
  CHECK(names(store.list()) == std::vector<std::string>{"step-000000007"});
  CHECK_FALSE(fs::exists(dir / ".tmp-step-000000007-9999999"));
  CHECK(store.load_latest()->step == 7);
}

TEST_CASE("checkpoint rejects unsafe blob names", "[checkpoint]") {
  auto dir = loom::test::scratch("checkpoint/blobs");
  CheckpointStore store(dir, {});
  for (std::string bad :
       {"../escape", "a/b", "", "..", "has space", "MANIFEST.json", "state.json", "tensors.safetensors", "ü"}) {
    auto c = contents_for(1);
    c.blobs[bad] = "x";
    INFO(bad);
    CHECK_THROWS_AS(store.save(1, c), loom::UserError);
  }
  CHECK(store.list().empty());
  CHECK_FALSE(fs::exists(dir / "latest"));
  auto c = contents_for(1);
  c.blobs["ok_name-1.2"] = "y";
  store.save(1, c);
  CHECK(CheckpointStore::load(dir).contents.blobs.at("ok_name-1.2") == "y");
}

TEST_CASE("restore_latest falls back past checkpoints that fail to restore, and keeps them", "[checkpoint][resume]") {
  auto dir = loom::test::scratch("checkpoint/restore_latest") / "checkpoints";
  CheckpointStore store(dir, {});
  CHECK_FALSE(store.restore_latest([](const loom::LoadedCheckpoint&) {}));  // nothing yet: a fresh start
  for (int64_t step : {10, 20, 30}) store.save(step, contents_for(step));

  // Step 30 verifies but its contents do not restore (as a CRC-valid but unparsable optimizer archive).
  std::vector<int64_t> tried;
  auto restored = store.restore_latest([&](const loom::LoadedCheckpoint& c) {
    tried.push_back(c.step);
    if (c.step == 30) throw std::runtime_error("unreadable optimizer archive");
  });
  REQUIRE(restored);
  CHECK(restored->step == 20);
  CHECK(tried == std::vector<int64_t>{30, 20});
  CHECK(fs::exists(dir / "unreadable" / "step-000000030" / "MANIFEST.json"));
  CHECK(names(store.list()) == std::vector<std::string>{"step-000000010", "step-000000020"});

  // A mismatch between run and checkpoint stops at once and moves nothing.
  CHECK_THROWS_AS(
      store.restore_latest([](const loom::LoadedCheckpoint&) { throw loom::CheckpointMismatch("changed"); }),
      loom::CheckpointMismatch);
  CHECK(store.list().size() == 2);

  // Nothing restores: an error, and every folder is kept.
  CHECK_THROWS_WITH(store.restore_latest([](const loom::LoadedCheckpoint&) { throw loom::UserError("bad"); }),
                    Catch::Contains("none of its 2 checkpoints could be restored") && Catch::Contains("unreadable"));
  CHECK(store.list().empty());
  int kept = 0;
  for (const auto& entry : fs::directory_iterator(dir / "unreadable"))
    kept += fs::exists(entry.path() / "MANIFEST.json");
  CHECK(kept == 3);
  // New saves and pruning leave the kept folders alone.
  for (int64_t step : {40, 50, 60, 70}) store.save(step, contents_for(step));
  CHECK(fs::exists(dir / "unreadable" / "step-000000010"));
}

#include <catch2/catch.hpp>

#include <fstream>

#include "support/test_env.h"

namespace {

using loom::test::run_loom;

std::string config_path(const std::string& name) { return (loom::test::source_dir() / "configs" / name).string(); }

}  // namespace

TEST_CASE("loom config prints the resolved config, which runs again as is") {
  auto r = run_loom("config " + config_path("quickstart.yaml") + " model.num_classes=3 optimizer.lr=0.5");
  REQUIRE(r.code == 0);
  CHECK_THAT(r.output, Catch::Contains("widths: [16, 32, 64]") && Catch::Contains("num_classes: 3") &&
                           Catch::Contains("lr: 0.5") && Catch::Contains("total_steps: 1500"));
  auto dir = loom::test::scratch("cli_config");
  std::ofstream(dir / "resolved.yaml") << r.output;
  auto again = run_loom("config " + (dir / "resolved.yaml").string());
  REQUIRE(again.code == 0);
  CHECK(again.output.substr(again.output.find('\n')) == r.output.substr(r.output.find('\n')));
}

TEST_CASE("loom list prints every registry") {
  auto r = run_loom("list");
  REQUIRE(r.code == 0);
  for (const char* kind : {"models:", "recipes:", "datasets:", "losses:", "optimizers:", "schedules:", "metrics:"})
    CHECK_THAT(r.output, Catch::Contains(kind));
  CHECK_THAT(r.output,
             Catch::Contains("convnet") && Catch::Contains("focal_contrastive") && Catch::Contains("warmup_cosine"));
}

TEST_CASE("loom info counts parameters and multiply-accumulates") {
  auto r = run_loom("info " + config_path("classifier/convnet_small.yaml"));
  REQUIRE(r.code == 0);
  // features: conv 3->16, 16->32, 32->64 (3x3, no bias) + 3 BatchNorms; head 64->10
  CHECK_THAT(r.output, Catch::Contains("features") && Catch::Contains("23,696") && Catch::Contains("head") &&
                           Catch::Contains("650") && Catch::Contains("24,346"));
}

TEST_CASE("user errors exit with code 2 and one clear message") {
  auto dir = loom::test::scratch("cli_errors");
  std::ofstream(dir / "bad.yaml") << "model:\n  name: convnet\n  widht: 3\n";
  auto r = run_loom("info " + (dir / "bad.yaml").string());
  CHECK(r.code == 2);
  CHECK_THAT(r.output, Catch::Contains("bad.yaml:3: unknown key 'model.widht'; did you mean 'model.widths'?"));
  CHECK_THAT(r.output, !Catch::Contains("Exception raised from"));

  std::ofstream(dir / "broken.yaml") << "model: [1, 2\n";
  r = run_loom("config " + (dir / "broken.yaml").string());
  CHECK(r.code == 2);
  CHECK_THAT(r.output, Catch::Contains("broken.yaml:") && Catch::Contains("malformed YAML"));

  r = run_loom("config " + (dir / "missing.yaml").string());
  CHECK(r.code == 2);
  r = run_loom("info " + config_path("quickstart.yaml") + " model.num_classes=many");
  CHECK(r.code == 2);
  CHECK_THAT(r.output, Catch::Contains("override 'model.num_classes=many': model.num_classes: expected an integer"));
  r = run_loom("frobnicate");
  CHECK(r.code == 2);
}

TEST_CASE("a run folder that cannot be written and an empty stage list exit 2 naming the key", "[cli][bad input]") {
  auto dir = loom::test::scratch("cli_bad_run");
  std::ofstream(dir / "a_file") << "not a folder\n";
  auto r =
      run_loom("train " + config_path("quickstart.yaml") + " train.steps=1 output.root=" + (dir / "a_file").string());
  CHECK(r.code == 2);
  CHECK_THAT(r.output, Catch::Contains("output.root: cannot create the run folder") && Catch::Contains("a_file"));
  // A read-only file system: a read-only tmpfs, where the machine lets the test mount one (as root).
  const auto read_only = dir / "read_only";
  std::filesystem::create_directories(read_only);
  if (std::system(("mount -t tmpfs -o ro,size=1m tmpfs " + read_only.string() + " 2>/dev/null").c_str()) == 0) {
    r = run_loom("train " + config_path("quickstart.yaml") + " train.steps=1 output.root=" + read_only.string());
    CHECK(std::system(("umount " + read_only.string()).c_str()) == 0);
    CHECK(r.code == 2);
    CHECK_THAT(r.output, Catch::Contains("output.root") && Catch::Contains("Read-only file system"));
  } else {
    WARN("cannot mount a tmpfs here: the read-only output.root case is not run");
  }
  // Far more intra-op threads than cores: capped with a warning (10^5 OpenMP threads never finish starting).
  r = run_loom("train " + config_path("quickstart.yaml") +
               " train.steps=1 train.threads=100000 output.root=" + (dir / "runs").string());
  CHECK(r.code == 0);
  CHECK_THAT(r.output, Catch::Contains("train.threads=100000: this machine has"));
  r = run_loom("train " + config_path("quickstart.yaml") + " train.steps=1 model.widths=[]");
  CHECK(r.code == 2);
  CHECK_THAT(r.output, Catch::Contains("model.widths") && Catch::Contains("at least 1 item"));
}

TEST_CASE("loom config and loom info check a training config as loom train does", "[cli]") {
  auto dir = loom::test::scratch("cli_checks");
  std::ofstream(dir / "typo.yaml") << "_base_: " << config_path("quickstart.yaml") << "\ntrain:\n  max_stepz: 5\n";
  std::ofstream(dir / "section.yaml") << "_base_: " << config_path("quickstart.yaml") << "\noptimiser: {lr: 0.1}\n";
  for (const std::string command : {"config", "info"}) {
    INFO(command);
    auto r = run_loom(command + " " + config_path("quickstart.yaml") + " train.max_stepz=5");
    CHECK(r.code == 2);
    CHECK_THAT(
        r.output,
        Catch::Contains("override 'train.max_stepz=5': unknown key 'train.max_stepz'; did you mean 'train.steps'?") &&
            Catch::Contains("(valid keys here: steps, epochs,") && !Catch::Contains("resolved from"));
    r = run_loom(command + " " + (dir / "typo.yaml").string());
    CHECK(r.code == 2);
    CHECK_THAT(r.output, Catch::Contains("typo.yaml:3: unknown key 'train.max_stepz'; did you mean 'train.steps'?"));
    r = run_loom(command + " " + (dir / "section.yaml").string());
    CHECK(r.code == 2);
    CHECK_THAT(r.output,
               Catch::Contains("section.yaml:2: optimiser: unknown top-level section; did you mean 'optimizer'?") &&
                   Catch::Contains("schedule"));
    r = run_loom(command + " " + config_path("quickstart.yaml") + " train.epochs=2");
    CHECK(r.code == 2);
    CHECK_THAT(r.output, Catch::Contains("train: give exactly one of steps and epochs"));
    r = run_loom(command + " " + config_path("quickstart.yaml") + " train.steps=5");
    INFO(r.output);
    CHECK(r.code == 0);
  }
}

TEST_CASE("every shipped config resolves", "[cli][configs]") {
  int count = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(loom::test::source_dir() / "configs")) {
    if (entry.path().extension() != ".yaml") continue;
    auto r = run_loom("config " + entry.path().string());
    INFO(entry.path().string() << "\n" << r.output);
    CHECK(r.code == 0);
    ++count;
  }
  CHECK(count >= 10);
}

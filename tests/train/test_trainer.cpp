#include <fstream>

#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "core/config/config_error.h"
#include "support/toy_recipes.h"
#include "support/trainer_test_util.h"
#include "train/stop_signal.h"
#include "train/trainer.h"

using namespace loom;
using namespace loom::test;

namespace {

std::string toy(const std::string& recipe, const std::filesystem::path& root, const std::string& id,
                const std::string& extra = "") {
  return cat(
      "recipe: {name: ", recipe, "}\n", "optimizer: {name: adam, lr: 0.002, betas: [0.0, 0.99]}\n",
      "output: {root: ", root.string(), ", name: toy, id: ", id, "}\n",
      "train:\n  steps: 12\n  seed: 3\n  threads: 1\n  log_every: 4\n  ema: {half_life_images: 500, rampup: 0.05}\n",
      "  loader: {batch_size: 16, workers: 2}\n", extra);
}

TrainResult run(const std::string& text, const std::vector<std::string>& overrides = {}) {
  register_toy_recipes();
  stop_signal::reset();
  ConfigNode config = yaml(text);
  for (const auto& o : overrides) apply_override(config, o);
  return train(config, "toy.yaml");
}

}  // namespace

TEST_CASE("a GAN-style recipe runs two optimizers, a lazy phase every N steps and an EMA", "[trainer]") {
  auto root = scratch("trainer_gan");
  TrainResult r = run(toy("toy_gan", root, "a"));
  CHECK(r.steps == 12);
  CHECK_FALSE(r.interrupted);
  REQUIRE(r.final_metrics.size() == 1);
  CHECK(r.final_metrics[0].first == "val/mean_radius");
  // Dreg runs on steps 0, 4, 8: its counter lives in the checkpoint.
  CHECK(CheckpointStore::load(r.last_checkpoint).contents.state_json.find("\"reg_runs\": 3.0") != std::string::npos);
  // Run folder: resolved config, log, metrics, TensorBoard events, checkpoint.
  CHECK(std::filesystem::exists(r.run.config()));
  CHECK(std::filesystem::exists(r.run.log()));
  CHECK(std::filesystem::exists(r.run.metrics()));
  CHECK(!std::filesystem::is_empty(r.run.tensorboard()));
  CHECK(r.last_checkpoint.filename() == "step-000000012");
  CHECK(std::filesystem::exists(r.run.samples() / "points-12.png"));
  // The EMA differs from the trained generator (it averages) but has its shapes.
  auto tensors = trained_tensors(r.last_checkpoint);
  auto find = [&](const std::string& name) {
    for (auto& [n, t] : tensors)
      if (n == name) return t;
    FAIL("missing " << name);
    return at::Tensor();
  };
  CHECK_FALSE(torch::equal(find("module.G.0.weight"), find("ema.G.0.weight")));
}

TEST_CASE("a GAN run stopped by SIGTERM and resumed equals an uninterrupted run bitwise", "[trainer][resume]") {
  auto root = scratch("trainer_gan_resume");
  TrainResult whole = run(toy("toy_gan", root, "whole"));
  // SIGTERM during step 5: the step finishes, a checkpoint is written, the run returns.
  TrainResult first = run(toy("toy_gan", root, "split"), {"recipe.signal_at_step=5"});
  CHECK(first.interrupted);
  CHECK(first.steps == 6);
  TrainResult second = run(toy("toy_gan", root, "split"), {"resume=auto"});
  CHECK_FALSE(second.interrupted);
  CHECK(second.steps == 12);
  require_identical(trained_tensors(whole.last_checkpoint), trained_tensors(second.last_checkpoint));
}

TEST_CASE("a corrupt newest checkpoint is skipped in favour of the previous one", "[trainer][resume]") {
  auto root = scratch("trainer_corrupt");
  TrainResult whole = run(toy("toy_regression", root, "x", "  checkpoint_every: 4\n"));
  auto reference = trained_tensors(whole.last_checkpoint);
  // Damage the final checkpoint: resume=auto must fall back to step 8 and redo steps 8..11 exactly.
  auto file = whole.last_checkpoint / "tensors.safetensors";
  {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-5, std::ios::end);
    f.put('\x7f');
  }
  TrainResult again = run(toy("toy_regression", root, "x", "  checkpoint_every: 4\n"), {"resume=auto"});
  CHECK(again.steps == 12);
  require_identical(reference, trained_tensors(again.last_checkpoint));
  // The damaged folder is kept aside, never pruned or overwritten.
  CHECK(std::filesystem::exists(again.run.checkpoints() / "unreadable" / "step-000000012" / "MANIFEST.json"));
}

TEST_CASE("a checkpoint whose optimizer state does not parse falls back to the previous one", "[trainer][resume]") {
  auto root = scratch("trainer_bad_optimizer_blob");
  const std::string config = toy("toy_regression", root, "x", "  checkpoint_every: 4\n");
  TrainResult whole = run(config);
  auto reference = trained_tensors(whole.last_checkpoint);
  // Rewritten through the store, so sizes and CRCs match: only the optimizer archive is garbage.
  LoadedCheckpoint last = CheckpointStore::load(whole.last_checkpoint);
  last.contents.blobs.at("optimizer.main") = "not a torch archive";
  CheckpointOptions keep_all;
  keep_all.keep_last = 0;
  CheckpointStore(whole.run.checkpoints(), keep_all).save(last.step, last.contents);
  TrainResult again = run(config, {"resume=auto"});
  CHECK(again.steps == 12);
  require_identical(reference, trained_tensors(again.last_checkpoint));
  CHECK(std::filesystem::exists(again.run.checkpoints() / "unreadable" / "step-000000012"));
}

TEST_CASE("resuming with another optimizer or model shape is an error naming what changed", "[trainer][resume]") {
  auto root = scratch("trainer_changed_run");
  const std::string config = toy("toy_regression", root, "x", "  checkpoint_every: 4\n");
  TrainResult whole = run(config);
  auto mismatch = [&](const std::vector<std::string>& overrides) {
    try {
      run(config, overrides);
    } catch (const CheckpointMismatch& e) {
      return std::string(e.what());
    }
    FAIL("no CheckpointMismatch");
    return std::string();
  };
  const std::string optimizer = mismatch({"resume=auto", "optimizer=null", "optimizer={name: sgd, lr: 0.01}"});
  CHECK_THAT(optimizer, Catch::Contains("optimizer 'main'") && Catch::Contains("SGD") && Catch::Contains("Adam"));
  const std::string model = mismatch({"resume=auto", "recipe.hidden=7"});
  CHECK_THAT(model, Catch::Contains("model differs") && Catch::Contains("step-000000012"));
  // Nothing was set aside: the checkpoints are sound.
  CHECK_FALSE(std::filesystem::exists(whole.run.checkpoints() / "unreadable"));
  CHECK(CheckpointStore(whole.run.checkpoints(), {}).list().size() == 3);
}

TEST_CASE("when no checkpoint of a run can be restored, resume=auto stops and keeps them all", "[trainer][resume]") {
  auto root = scratch("trainer_all_corrupt");
  const std::string config = toy("toy_regression", root, "x", "  checkpoint_every: 4\n");
  TrainResult whole = run(config);
  for (const auto& folder : CheckpointStore(whole.run.checkpoints(), {}).list()) {
    std::fstream f(folder / "tensors.safetensors", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-5, std::ios::end);
    f.put('\x7f');
  }
  CHECK_THROWS_WITH(run(config, {"resume=auto"}), Catch::Contains("none of its 3 checkpoints could be restored"));
  int kept = 0;
  for (const auto& entry : std::filesystem::directory_iterator(whole.run.checkpoints() / "unreadable"))
    kept += std::filesystem::exists(entry.path() / "tensors.safetensors");
  CHECK(kept == 3);
}

TEST_CASE("keep-best keeps the checkpoint of the best evaluation", "[trainer]") {
  auto root = scratch("trainer_best");
  TrainResult r =
      run(toy("toy_gan", root, "best",
              "  eval_every: 3\n  checkpoint: {keep_last: 1, best_metric: val/mean_radius, best_mode: max}\n"));
  std::ifstream in(r.run.checkpoints() / "best");
  std::string best;
  in >> best;
  REQUIRE(!best.empty());
  CHECK(std::filesystem::exists(r.run.checkpoints() / best));
  // keep_last 1: the newest and the best remain, nothing else.
  auto folders = CheckpointStore(r.run.checkpoints(), {}).list();
  CHECK(folders.size() == (best == "step-000000012" ? 1u : 2u));
}

TEST_CASE("parameters no phase trains are frozen", "[trainer]") {
  auto root = scratch("trainer_frozen");
  // Only G trains: D's weights must stay at their initial values.
  TrainResult r = run(toy("toy_gan", root, "frozen"), {"recipe.only_g=true"});
  TrainResult init = run(toy("toy_gan", root, "init"), {"train.steps=1", "recipe.only_g=true", "optimizer.lr=0.0"});
  auto a = trained_tensors(r.last_checkpoint), b = trained_tensors(init.last_checkpoint);
  for (size_t i = 0; i < a.size(); ++i) {
    INFO(a[i].first);
    CHECK(torch::equal(a[i].second, b[i].second) == a[i].first.starts_with("module.D."));
  }
}

TEST_CASE("gradient accumulation over micro-batches matches one big batch", "[trainer]") {
  auto root = scratch("trainer_accumulate");
  TrainResult big =
      run(toy("toy_regression", root, "big"), {"train.loader.batch_size=32", "train.loader.shuffle=false"});
  TrainResult acc = run(toy("toy_regression", root, "acc"),
                        {"train.loader.batch_size=16", "train.loader.shuffle=false", "train.accumulate=2"});
  auto a = trained_tensors(big.last_checkpoint), b = trained_tensors(acc.last_checkpoint);
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) CHECK(torch::allclose(a[i].second, b[i].second, 1e-5, 1e-6));
}

TEST_CASE("a non-finite loss stops the run naming phase and step, or is skipped and counted", "[trainer]") {
  auto root = scratch("trainer_nan");
  CHECK_THROWS_AS(run(toy("toy_gan", root, "stop"), {"recipe.nan_at_step=3"}), TrainingDiverged);
  CHECK_THROWS_WITH(run(toy("toy_gan", root, "stop2"), {"recipe.nan_at_step=3"}),
                    Catch::Contains("phase 'G' at step 3: loss is nan"));
  TrainResult skipped = run(toy("toy_gan", root, "skip"), {"recipe.nan_at_step=3", "train.nan_policy=skip"});
  CHECK(skipped.steps == 12);
  CHECK(skipped.nan_skipped == 1);
}

TEST_CASE("clipping, bf16 autocast and schedules run, config mistakes name the key", "[trainer]") {
  auto root = scratch("trainer_options");
  TrainResult r =
      run(toy("toy_gan", root, "opts", "  clip_grad: {mode: norm, max: 0.5}\n  amp: {enabled: true, dtype: bf16}\n"));
  CHECK(r.steps == 12);
  CHECK_THROWS_WITH(run(toy("toy_gan", root, "bad"), {"train.stepz=5"}),
                    Catch::Contains("train.stepz") && Catch::Contains("did you mean 'train.steps'"));
  CHECK_THROWS_WITH(run(toy("toy_gan", root, "bad") + "optimiser: {}\n"), Catch::Contains("did you mean 'optimizer'"));
  CHECK_THROWS_WITH(run(toy("toy_gan", root, "bad"), {"train.epochs=2"}),
                    Catch::Contains("exactly one of steps and epochs"));
  CHECK_THROWS_WITH(run(toy("toy_gan", root, "bad"), {"recipe.name=toy_gam"}),
                    Catch::Contains("did you mean 'toy_gan'"));
}

TEST_CASE("epochs convert to steps", "[trainer]") {
  auto root = scratch("trainer_epochs");
  // 512 points / 64 per batch = 8 batches per epoch.
  TrainResult r =
      run(toy("toy_regression", root, "e"), {"train.steps=0", "train.epochs=2", "train.loader.batch_size=64"});
  CHECK(r.steps == 16);
}

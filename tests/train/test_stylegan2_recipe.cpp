// The stylegan2 recipe end to end on tiny networks and 16x16 synthetic shapes: all four phases, ADA
// moving p, EMA, FID/KID with the fallback extractor and sample grids; resume mid-run is bitwise exact
// (G, D, G_ema, augmentation p, path-length mean, ADA accumulators); `loom generate` and `loom eval`.
#include <fstream>

#include <torch/torch.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/io/weights.h"
#include "data/image_io.h"
#include "support/trainer_test_util.h"
#include "train/stop_signal.h"
#include "train/trainer.h"

using namespace loom;
using namespace loom::test;

namespace {

const std::vector<std::string> kTiny{
    "model.resolution=16", "model.z_dim=16", "model.w_dim=16", "model.channel_base=128", "model.channel_max=16",
    "data.train.image_size=16", "data.train.images_per_class=8", "recipe.g_reg_interval=2", "recipe.d_reg_interval=3",
    // A target of 0 and a tiny kimg make p climb fast, so augmentation shapes the run being resumed.
    "recipe.ada={mode: ada, target: 0.0, interval: 2, kimg: 0.05}", "train.loader.batch_size=8", "train.threads=1",
    "train.eval_every=0", "train.sample_every=0", "train.checkpoint_every=0", "train.log_every=2",
    "train.ema={half_life_images: 100, rampup: 0.05}", "sample.count=4", "eval.num_real=32", "eval.num_fake=32",
    "eval.batch_size=16", "eval.kid_subsets=4", "eval.kid_subset_size=16"};

ConfigNode tiny_config(const std::filesystem::path& root, const std::string& id,
                       const std::vector<std::string>& extra) {
  std::vector<std::string> overrides = kTiny;
  overrides.push_back(cat("data.train.root=", (root / "shapes").string()));
  overrides.insert(overrides.end(), extra.begin(), extra.end());
  ConfigNode config = load_config((source_dir() / "configs/stylegan2/small_shapes.yaml").string(), overrides);
  apply_override(config, cat("output={root: ", root.string(), ", name: sg2, id: ", id, "}"));
  return config;
}

TrainResult run(const std::filesystem::path& root, const std::string& id, const std::vector<std::string>& extra) {
  stop_signal::reset();
  return train(tiny_config(root, id, extra), "stylegan2.yaml");
}

nlohmann::json counters(const std::filesystem::path& checkpoint) {
  return nlohmann::json::parse(CheckpointStore::load(checkpoint).contents.state_json);
}

}  // namespace

TEST_CASE("stylegan2 recipe: phases, ADA, EMA, FID/KID and samples, resume is exact", "[stylegan2][recipe][resume]") {
  auto root = scratch("stylegan2_recipe");
  TrainResult whole = run(root, "whole", {"train.steps=8"});
  CHECK(whole.steps == 8);
  std::map<std::string, double> m(whole.final_metrics.begin(), whole.final_metrics.end());
  INFO("metrics: " << [&] {
    std::string s;
    for (auto& [k, v] : m) s += cat(k, "=", v, " ");
    return s;
  }());
  CHECK(m.count("val/fid_fallback"));  // no Inception weights: the labelled fallback
  CHECK(m.count("val/kid_fallback"));
  CHECK(m.at("val/augment_p") > 0.1);  // ADA moved p
  CHECK(std::filesystem::exists(whole.run.dir / "samples" / "fakes-000000008.png"));
  const std::string metrics = read_text(whole.run.metrics());
  for (const char* phase : {"train/Gmain/loss", "train/Greg/pl_length", "train/Dmain/D(real)", "train/Dreg/r1_penalty"})
    CHECK(metrics.find(phase) != std::string::npos);

  TrainResult half = run(root, "split", {"train.steps=5"});
  CHECK(half.steps == 5);
  TrainResult rest = run(root, "split", {"train.steps=8", "resume=auto"});
  CHECK(rest.steps == 8);
  require_identical(trained_tensors(whole.last_checkpoint), trained_tensors(rest.last_checkpoint));
  const auto a = counters(whole.last_checkpoint).dump(), b = counters(rest.last_checkpoint).dump();
  CHECK(a.find("pl_mean") != std::string::npos);
  CHECK(a == b);
}

TEST_CASE("loom generate and loom eval read stylegan2 runs and weight files", "[stylegan2][cli]") {
  auto root = scratch("stylegan2_generate");
  TrainResult r = run(root, "g", {"train.steps=2"});
  std::string config = (root / "tiny.yaml").string();
  {
    std::ofstream out(config);
    out << "_base_: " << (source_dir() / "configs/stylegan2/small_shapes.yaml").string() << "\n";
  }
  std::string overrides;
  for (const auto& o : kTiny) overrides += " '" + o + "'";
  overrides += cat(" data.train.root=", (root / "shapes").string());
  const std::string grid = (root / "grid.png").string();
  auto g = run_loom(cat("generate ", config, overrides, " ckpt=", r.run.dir.string(), " seeds=0-8 psi=0.7 out=", grid));
  INFO(g.output);
  REQUIRE(g.code == 0);
  const cv::Mat image = data::read_image(grid);
  CHECK(image.rows == 48);  // 9 images of 16x16 in a 3x3 grid
  CHECK(image.cols == 48);
  // The same generator as a weight file with NVlabs names under G_ema. gives the same picture.
  weights::NamedTensors ema;
  for (auto& [k, v] : CheckpointStore::load(r.last_checkpoint).contents.tensors)
    if (k.starts_with("ema.G.")) ema.emplace_back("G_ema." + k.substr(6), v);
  REQUIRE(!ema.empty());
  weights::write((root / "g_ema.safetensors").string(), ema);
  const std::string grid2 = (root / "grid2.png").string();
  auto g2 = run_loom(cat("generate ", config, overrides, " ckpt=", (root / "g_ema.safetensors").string(),
                         " seeds=0-8 psi=0.7 out=", grid2));
  REQUIRE(g2.code == 0);
  CHECK(read_text(grid) == read_text(grid2));
  auto mix = run_loom(cat("generate ", config, overrides, " ckpt=", r.run.dir.string(),
                          " mix_rows=1,2 mix_cols=3-5 mix_styles=0-2 out=", (root / "mix.png").string()));
  REQUIRE(mix.code == 0);
  CHECK(data::read_image((root / "mix.png").string()).cols == 64);  // corner + 3 columns
  auto bad = run_loom(cat("generate ", config, overrides, " ckpt=", r.run.dir.string(), " seeds=3-1"));
  CHECK(bad.code == 2);
  CHECK_THAT(bad.output, Catch::Contains("seeds"));
  auto e = run_loom(cat("eval ", config, overrides, " ckpt=", r.run.dir.string()));
  INFO(e.output);
  CHECK(e.code == 0);
  CHECK_THAT(e.output, Catch::Contains("val/fid_fallback"));
}

TEST_CASE("stylegan2 recipe trains a class-conditional model on the dataset's labels", "[stylegan2][recipe]") {
  auto root = scratch("stylegan2_conditional");
  TrainResult r = run(root, "c", {"train.steps=3", "model.c_dim=10"});
  CHECK(r.steps == 3);
  std::map<std::string, double> m(r.final_metrics.begin(), r.final_metrics.end());
  CHECK(m.count("val/fid_fallback"));
  // Labels beyond c_dim are a user error naming the data, not an ATen failure.
  CHECK_THROWS_WITH(run(root, "bad", {"train.steps=1", "model.c_dim=3"}), Catch::Contains("data.train labels"));
}

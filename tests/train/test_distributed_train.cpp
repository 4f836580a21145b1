// Data-parallel training through the real trainer: 2 Gloo ranks × batch B/2 on 127.0.0.1 must train
// like 1 process × batch B (same samples per step, gradients averaged, contrastive losses on the
// gathered global batch). SGD, because Adam turns rounding noise in exactly-zero gradients (the key
// bias of attention) into full-size steps, which no reordering of sums can reproduce.
#include <cmath>
#include <fstream>

#include <catch2/catch.hpp>
#include <torch/torch.h>

#include "trainer_test_util.h"

using namespace loom;
using namespace loom::test;

namespace {

// ‖a − b‖ / ‖a‖ over every module tensor.
double relative_difference(const weights::NamedTensors& a, const weights::NamedTensors& b) {
  REQUIRE(a.size() == b.size());
  double diff = 0, norm = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    REQUIRE(a[i].first == b[i].first);
    diff += (a[i].second.to(torch::kDouble) - b[i].second.to(torch::kDouble)).square().sum().item<double>();
    norm += a[i].second.to(torch::kDouble).square().sum().item<double>();
  }
  return std::sqrt(diff / norm);
}

// Trains `config` once as 1 process with `batch` and once as 2 ranks with batch / 2; returns the relative
// difference of the final weights.
double one_vs_two_ranks(const std::string& program, const std::string& config, const std::string& name, int batch,
                        const std::string& overrides) {
  auto dir = scratch(cat("distributed_train/", name));
  auto out = [&](const std::string& id) { return cat(" 'output={root: ", (dir / "runs").string(), ", name: r, id: ", id, "}'"); };
  auto one = run_command(cat(program, " ", config, " ", overrides, out("one"), " train.loader.batch_size=", batch));
  INFO(one.output);
  REQUIRE(one.code == 0);
  auto ranks = run_ranks(2, cat(program, " ", config, " ", overrides, out("two"), " train.loader.batch_size=", batch / 2), dir);
  for (const auto& r : ranks) {
    INFO(r.output);
    REQUIRE(r.code == 0);
  }
  return relative_difference(trained_tensors(dir / "runs/r/one/checkpoints"), trained_tensors(dir / "runs/r/two/checkpoints"));
}

const std::string kSgd = "optimizer=null 'optimizer={name: sgd, lr: 0.05, momentum: 0.9}'";

std::string clip_config() { return (source_dir() / "configs/clip/tiny_synthetic.yaml").string(); }
const std::string kClipSmall =
    "data.train.size=512 data.val.size=32 schedule=null train.steps=6 train.threads=1 train.eval_every=0 "
    "train.checkpoint_every=0 train.loader.shuffle=false train.loader.workers=1 eval.batch_size=32";

}  // namespace

TEST_CASE("clip recipe, InfoNCE: 2 ranks x B/2 equal 1 process x B", "[distributed][clip]") {
  double d = one_vs_two_ranks(cat((bin_dir() / "loom").string(), " train"), clip_config(), "clip_infonce", 16, cat(kSgd, " ", kClipSmall));
  CHECK(d < 1e-6);
}

TEST_CASE("clip recipe, focal contrastive loss: 2 ranks x B/2 equal 1 process x B", "[distributed][clip]") {
  double d = one_vs_two_ranks(cat((bin_dir() / "loom").string(), " train"), clip_config(), "clip_focal", 16,
                              cat(kSgd, " ", kClipSmall, " 'loss={name: focal_contrastive}'"));
  CHECK(d < 1e-6);
}

TEST_CASE("GAN-style recipe with a lazy phase: 2 ranks x B/2 equal 1 process x B", "[distributed][gan]") {
  auto dir = scratch("distributed_train/gan_config");
  std::ofstream(dir / "gan.yaml") << "recipe: {name: toy_gan, index_latents: true, reg_interval: 3}\n"
                                     "optimizer: {name: sgd, lr: 0.02, momentum: 0.9}\n"
                                     "train: {steps: 9, threads: 1, ema: {decay: 0.9}, loader: {workers: 1}}\n";
  double d = one_vs_two_ranks((bin_dir() / "train_worker").string(), (dir / "gan.yaml").string(), "gan", 16, "");
  CHECK(d < 1e-6);
}

// Data-parallel training through the real trainer: 2 Gloo ranks × batch B/2 on 127.0.0.1 must train
// like 1 process × batch B (same samples per step, gradients averaged, contrastive losses on the
// gathered global batch). SGD, because Adam turns rounding noise in exactly-zero gradients (the key
// bias of attention) into full-size steps, which no reordering of sums can reproduce.
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <thread>

#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "support/trainer_test_util.h"
#include "train/training_state.h"

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
  auto out = [&](const std::string& id) {
    return cat(" 'output={root: ", (dir / "runs").string(), ", name: r, id: ", id, "}'");
  };
  auto one = run_command(cat(program, " ", config, " ", overrides, out("one"), " train.loader.batch_size=", batch));
  INFO(one.output);
  REQUIRE(one.code == 0);
  auto ranks =
      run_ranks(2, cat(program, " ", config, " ", overrides, out("two"), " train.loader.batch_size=", batch / 2), dir);
  for (const auto& r : ranks) {
    INFO(r.output);
    REQUIRE(r.code == 0);
  }
  return relative_difference(trained_tensors(dir / "runs/r/one/checkpoints"),
                             trained_tensors(dir / "runs/r/two/checkpoints"));
}

const std::string kSgd = "optimizer=null 'optimizer={name: sgd, lr: 0.05, momentum: 0.9}'";

std::string clip_config() { return (source_dir() / "configs/clip/tiny_synthetic.yaml").string(); }
const std::string kClipSmall =
    "data.train.size=512 data.val.size=32 schedule=null train.steps=6 train.threads=1 train.eval_every=0 "
    "train.checkpoint_every=0 train.loader.shuffle=false train.loader.workers=1 eval.batch_size=32";

}  // namespace

TEST_CASE("clip recipe, InfoNCE: 2 ranks x B/2 equal 1 process x B", "[distributed][clip]") {
  double d = one_vs_two_ranks(cat((bin_dir() / "loom").string(), " train"), clip_config(), "clip_infonce", 16,
                              cat(kSgd, " ", kClipSmall));
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

TEST_CASE("stylegan2 recipe on 2 ranks: ADA p agreed from the signs of both ranks", "[distributed][stylegan2]") {
  auto dir = scratch("distributed_train/stylegan2");
  const std::string overrides = cat(
      "model.resolution=16 model.z_dim=16 model.w_dim=16 model.channel_base=128 model.channel_max=16 "
      "data.train.image_size=16 data.train.images_per_class=8 data.train.root=",
      (dir / "shapes").string(),
      " recipe.g_reg_interval=2 recipe.d_reg_interval=3 'recipe.ada={mode: ada, target: 0.0, interval: 2, kimg: 0.05}' "
      "train.steps=6 train.threads=1 train.loader.batch_size=4 train.loader.workers=1 train.eval_every=0 "
      "train.sample_every=0 "
      "train.checkpoint_every=0 sample.count=4 eval.num_real=16 eval.num_fake=16 eval.batch_size=8 "
      "eval.kid_subset_size=8 eval.kid_subsets=2 "
      "'output={root: ",
      (dir / "runs").string(), ", name: sg2, id: two}'");
  const std::string config = (source_dir() / "configs/stylegan2/small_shapes.yaml").string();
  auto ranks = run_ranks(2, cat((bin_dir() / "loom").string(), " train ", config, " ", overrides), dir);
  std::vector<std::string> p;
  for (const auto& r : ranks) {
    INFO(r.output);
    REQUIRE(r.code == 0);
    const size_t at = r.output.find("val/augment_p = ");
    REQUIRE(at != std::string::npos);
    p.push_back(r.output.substr(at, r.output.find('\n', at) - at));
  }
  CHECK(p[0] == p[1]);  // every rank moved p alike
  CHECK(p[0] != "val/augment_p = 0");
}

TEST_CASE("a rank killed mid-run makes the other stop with an error naming it", "[distributed][fault]") {
  auto dir = scratch("distributed_train/kill");
  std::ofstream(dir / "gan.yaml") << cat(
      "recipe: {name: toy_gan}\noptimizer: {name: adam}\n",
      "train: {steps: 100000, threads: 1, checkpoint_every: 5, distributed: {timeout_seconds: 10}}\n",
      "output: {root: ", (dir / "runs").string(), ", name: k, id: x}\n");
  const int port = free_loopback_port();
  std::vector<pid_t> pids;
  for (int r = 0; r < 2; ++r)
    pids.push_back(spawn(
        (bin_dir() / "train_worker").string(), {(dir / "gan.yaml").string()},
        {"MASTER_ADDR=127.0.0.1", cat("MASTER_PORT=", port), "WORLD_SIZE=2", cat("RANK=", r), cat("LOCAL_RANK=", r)}));
  // Once training runs (a checkpoint exists), kill rank 1.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!std::filesystem::exists(dir / "runs/k/x/checkpoints/latest") && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  REQUIRE(std::filesystem::exists(dir / "runs/k/x/checkpoints/latest"));
  kill(pids[1], SIGKILL);
  auto killed = std::chrono::steady_clock::now();
  int status = 0;
  waitpid(pids[1], &status, 0);
  // Rank 0 must exit by itself, with the user-error code, well within the timeout.
  pid_t done = 0;
  while ((done = waitpid(pids[0], &status, WNOHANG)) == 0 &&
         std::chrono::steady_clock::now() - killed < std::chrono::seconds(30))
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (done == 0) kill(pids[0], SIGKILL);
  REQUIRE(done == pids[0]);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 2);
  CHECK(std::chrono::steady_clock::now() - killed < std::chrono::seconds(12));
  // The checkpoints that exist are complete.
  CHECK(CheckpointStore(dir / "runs/k/x/checkpoints", {}).load_latest().has_value());
}

TEST_CASE("resuming with another global batch maps the loader position by samples consumed", "[distributed][resume]") {
  auto p = rescale_loader_position({3, 10}, 2 * 8, 4 * 8);  // 160 samples of epoch 3
  CHECK(p.epoch == 3);
  CHECK(p.batch == 5);
  CHECK_THROWS_WITH(rescale_loader_position({3, 3}, 16, 32), Catch::Contains("48 samples of epoch 3"));
}

TEST_CASE("a 2-rank run resumed by 1 process with the same global batch continues exactly", "[distributed][resume]") {
  auto dir = scratch("distributed_train/reshape");
  std::ofstream(dir / "gan.yaml") << cat("recipe: {name: toy_gan, index_latents: true, reg_interval: 3}\n",
                                         "optimizer: {name: sgd, lr: 0.02, momentum: 0.9}\n",
                                         "train: {steps: 8, threads: 1, ema: {decay: 0.9}, loader: {workers: 1}}\n",
                                         "output: {root: ", (dir / "runs").string(), ", name: g}\n");
  const std::string worker = (bin_dir() / "train_worker").string(), config = (dir / "gan.yaml").string();
  auto whole = run_command(cat(worker, " ", config, " output.id=whole train.loader.batch_size=16"));
  INFO(whole.output);
  REQUIRE(whole.code == 0);
  for (const auto& r :
       run_ranks(2, cat(worker, " ", config, " output.id=split train.steps=4 train.loader.batch_size=8"), dir)) {
    INFO(r.output);
    REQUIRE(r.code == 0);
  }
  auto rest = run_command(cat(worker, " ", config, " output.id=split resume=auto train.loader.batch_size=16"));
  INFO(rest.output);
  REQUIRE(rest.code == 0);
  CHECK(relative_difference(trained_tensors(dir / "runs/g/whole/checkpoints"),
                            trained_tensors(dir / "runs/g/split/checkpoints")) < 1e-6);
}

TEST_CASE("launched by torchrun (agent-hosted store), the clip recipe trains like one process",
          "[distributed][torchrun]") {
  auto dir = scratch("distributed_train/torchrun");
  auto out = [&](const std::string& id) {
    return cat(" 'output={root: ", (dir / "runs").string(), ", name: r, id: ", id, "}'");
  };
  const std::string loom = cat((bin_dir() / "loom").string(), " train ", clip_config(), " ", kSgd, " ", kClipSmall);
  auto one = run_command(cat(loom, out("one"), " train.loader.batch_size=16"));
  INFO(one.output);
  REQUIRE(one.code == 0);
  auto two = run_command(cat("env -u RANK -u WORLD_SIZE -u MASTER_ADDR -u MASTER_PORT OMP_NUM_THREADS=1 ", python(),
                             " -m torch.distributed.run --standalone --nproc-per-node 2 --no-python ", loom, out("two"),
                             " train.loader.batch_size=8"));
  INFO(two.output);
  REQUIRE(two.code == 0);
  CHECK(relative_difference(trained_tensors(dir / "runs/r/one/checkpoints"),
                            trained_tensors(dir / "runs/r/two/checkpoints")) < 1e-6);
}

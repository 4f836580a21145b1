// The trainer through the real `loom` binary: kill -9 and resume, evaluation, TensorBoard output,
// unreadable images. Uses the classify recipe on the project's synthetic shapes.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "data/image_io.h"
#include "support/trainer_test_util.h"
#include "train/trainer.h"

using namespace loom;
using namespace loom::test;

namespace {

// A 16-pixel shapes classifier that trains in seconds.
std::filesystem::path write_config(const std::filesystem::path& dir) {
  std::string text =
      cat("_base_: ", (source_dir() / "configs/classifier/convnet_small.yaml").string(), "\n",
          "model: {image_size: 16, widths: [8, 16]}\n", "data:\n  train: {root: ", (dir / "shapes").string(),
          ", images_per_class: 20, image_size: 16}\n", "  val: {root: ", (dir / "shapes").string(),
          ", images_per_class: 20, val_images_per_class: 5, image_size: 16}\n", "  eval_workers: 1\n",
          "schedule: {warmup_steps: 4, total_steps: 40}\n",
          "train: {steps: 40, threads: 1, loader: {batch_size: 16, workers: 2}, log_every: 5, eval_every: 0, "
          "checkpoint_every: 0}\n",
          "output: {root: ", (dir / "runs").string(), ", name: q}\n");
  std::filesystem::path path = dir / "q.yaml";
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST_CASE("kill -9 mid-run, resume=auto: bitwise the same weights as an uninterrupted run", "[cli][resume]") {
  auto dir = scratch("cli_kill_resume");
  auto config = write_config(dir).string();
  REQUIRE(run_loom(cat("train ", config, " output.id=whole")).code == 0);

  std::filesystem::path latest = dir / "runs/q/split/checkpoints/latest";
  pid_t child = spawn((bin_dir() / "loom").string(), {"train", config, "output.id=split", "train.checkpoint_every=2"});
  REQUIRE(child > 0);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!std::filesystem::exists(latest) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE(std::filesystem::exists(latest));
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  REQUIRE(WIFSIGNALED(status));  // it really died mid-run, not after finishing

  REQUIRE(run_loom(cat("train ", config, " output.id=split train.checkpoint_every=2 resume=auto")).code == 0);
  require_identical(trained_tensors(dir / "runs/q/whole/checkpoints"),
                    trained_tensors(dir / "runs/q/split/checkpoints"));

  SECTION("the run writes TensorBoard events the tensorboard package reads, and evaluates") {
    CHECK(run_python("check_run_events.py", cat((dir / "runs/q/whole/tensorboard").string(),
                                                " train/main/loss lr/main val/accuracy progress/images_seen")) == 0);
    auto eval = run_loom(cat("eval ", config, " ckpt=", (dir / "runs/q/whole").string()));
    CHECK(eval.code == 0);
    CHECK_THAT(eval.output, Catch::Contains("val/accuracy = "));
  }
}

TEST_CASE("command-line mistakes exit with code 2 and name the key", "[cli]") {
  auto dir = scratch("cli_mistakes");
  auto config = write_config(dir).string();
  auto bad = run_loom(cat("train ", config, " train.stepz=3"));
  CHECK(bad.code == 2);
  CHECK_THAT(bad.output, Catch::Contains("train.stepz") && Catch::Contains("did you mean 'train.steps'"));
  CHECK(run_loom(cat("eval ", config)).code == 2);  // no ckpt=
}

TEST_CASE("an image folder with corrupt and empty images trains, counting them", "[cli][data]") {
  auto dir = scratch("cli_bad_images");
  for (int c = 0; c < 2; ++c) {
    std::filesystem::create_directories(dir / "images" / cat("class", c));
    for (int i = 0; i < 12; ++i) {
      at::Tensor image = torch::rand({3, 16, 16}) * 0.2 + (c ? 0.8 : 0.0);
      data::write_png((dir / "images" / cat("class", c) / cat(i, ".png")).string(), image.clamp(0, 1));
    }
  }
  std::ofstream(dir / "images/class0/corrupt.png") << "not a png at all";
  std::ofstream(dir / "images/class1/empty.jpg");
  std::string text =
      cat("recipe: {name: classify}\n"
          "model: {name: convnet, image_size: 16, widths: [4, 8], num_classes: 2}\n"
          "data: {train: {name: image_folder, root: ",
          (dir / "images").string(),
          "}}\n"
          "optimizer: {name: sgd, lr: 0.05}\n"
          "train: {steps: 6, threads: 1, loader: {batch_size: 8, workers: 1, max_bad_fraction: 0.2}}\n"
          "output: {root: ",
          (dir / "runs").string(), ", name: bad, id: x}\n");
  TrainResult r = train(parse_yaml(text, "bad.yaml"), "bad.yaml");
  CHECK(r.steps == 6);
  CHECK(r.bad_samples >= 2);
  // With no tolerance the same folder stops with an error naming a bad file.
  ConfigNode strict = parse_yaml(text, "bad.yaml");
  apply_override(strict, "train.loader.max_bad_fraction=0.0");
  apply_override(strict, "output.id=strict");
  CHECK_THROWS_WITH(train(strict, "bad.yaml"), Catch::Contains("corrupt.png") || Catch::Contains("empty.jpg"));
}

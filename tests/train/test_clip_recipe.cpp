// The clip recipe end to end on the synthetic scene world with the tiny CLIP: InfoNCE, and the RO-ViT
// variant (cropped positional embeddings + focal loss), whose resume must be exact although every
// step draws random crop boxes; both trained runs' towers exported as ONNX and run by onnxruntime.
#include <fstream>

#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "models/clip/pretrained_image_text_model.h"
#include "support/onnx_runs.h"
#include "support/trainer_test_util.h"
#include "train/stop_signal.h"
#include "train/trainer.h"

using namespace loom;
using namespace loom::test;

namespace {

TrainResult run_clip(const std::filesystem::path& root, const std::string& id,
                     const std::vector<std::string>& overrides) {
  ConfigNode config = load_config((source_dir() / "configs/clip/tiny_synthetic.yaml").string(), overrides);
  apply_override(config, cat("output={root: ", root.string(), ", name: clip, id: ", id, "}"));
  for (const char* o :
       {"data.train.size=512", "data.val.size=64", "train.loader.batch_size=16", "train.threads=1",
        "train.eval_every=0", "train.checkpoint_every=0", "train.log_every=4", "schedule=null", "eval.batch_size=32"})
    apply_override(config, o);
  stop_signal::reset();
  return train(config, "clip.yaml");
}

// `loom export` of a trained run's two towers: onnxruntime's embeddings are the model's (1e-4).
void check_onnx_export(const TrainResult& r, const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  for (const char* what : {"clip_image", "clip_text"}) {
    const CommandResult c = run_loom(cat("export ", r.run.config().string(), " ckpt=", r.run.dir.string(),
                                         " what=", what, " out=", (dir / cat(what, ".onnx")).string()));
    INFO(c.output);
    REQUIRE(c.code == 0);
  }
  torch::NoGradGuard no_grad;
  const PretrainedImageTextModel m = load_pretrained_image_text_model(r.run.dir, nullptr, "model");
  const at::Tensor images = torch::rand({3, 3, m.model->image_size(), m.model->image_size()});
  at::Tensor tokens = torch::randint(0, 49407, {3, m.model->context_length()}, torch::kLong);
  for (int64_t row = 0; row < 3; ++row) tokens[row][4 + 5 * row] = 49407;  // the EOT id
  write_onnx_inputs(dir, "clip_image", 0, {{"image", images}});
  write_onnx_inputs(dir, "clip_text", 0, {{"tokens", tokens}});
  run_onnx_models(dir);
  CHECK(relative_error(onnx_output(dir, "clip_image", 0, "embedding"), encode_unit_images(*m.model, images, true)) <
        1e-4);
  CHECK(relative_error(onnx_output(dir, "clip_text", 0, "embedding"), m.model->encode_text(tokens, true)) < 1e-4);
}

}  // namespace

TEST_CASE("the clip recipe trains and reports zero-shot accuracy and retrieval recall", "[clip][recipe]") {
  auto root = scratch("clip_recipe");
  TrainResult r = run_clip(root, "infonce", {"train.steps=6"});
  CHECK(r.steps == 6);
  CHECK(scalar_value(r.final_metrics, "val/zero_shot/chance") > 0);
  double top1 = scalar_value(r.final_metrics, "val/zero_shot/top1");
  CHECK(top1 >= 0.0);
  CHECK(top1 <= 1.0);
  CHECK(scalar_value(r.final_metrics, "val/image_to_text_R@10") >=
        scalar_value(r.final_metrics, "val/image_to_text_R@1"));
  check_onnx_export(r, root / "onnx");
}

TEST_CASE("RO-ViT variant: resume with cropped positional embeddings is exact", "[clip][recipe][resume]") {
  auto root = scratch("clip_rovit_resume");
  std::vector<std::string> rovit{"model.vision.class_token=false", "model.vision.pool=avg",
                                 "model.vision.cropped_pe={enabled: true, upsample: 16}",
                                 "loss={name: focal_contrastive}"};
  auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.begin(), rovit.begin(), rovit.end());
    return extra;
  };
  TrainResult whole = run_clip(root, "whole", with({"train.steps=8"}));
  TrainResult half = run_clip(root, "split", with({"train.steps=4"}));
  CHECK(half.steps == 4);
  TrainResult rest = run_clip(root, "split", with({"train.steps=8", "resume=auto"}));
  CHECK(rest.steps == 8);
  require_identical(trained_tensors(whole.last_checkpoint), trained_tensors(rest.last_checkpoint));
  check_onnx_export(whole, root / "onnx");  // average pooling without class token, resampled PE
}

TEST_CASE("loom eval runs zero-shot evaluation on weights converted from open_clip", "[clip][cli]") {
  auto dir = scratch("clip_eval_converted");
  // Random weights stand in for a pretrained checkpoint (no network here); the path is the same.
  auto convert = run_command(cat(python(), " ", (source_dir() / "scripts/convert_open_clip.py").string(),
                                 " ViT-S-32-alt --random-init --out ", (dir / "s32.safetensors").string(),
                                 " --config-out ", (dir / "s32.yaml").string()));
  INFO(convert.output);
  REQUIRE(convert.code == 0);
  std::ofstream(dir / "eval.yaml") << cat(
      "_base_: [", (source_dir() / "configs/clip/tiny_synthetic.yaml").string(), ", ", (dir / "s32.yaml").string(),
      "]\n", "data: {val: {size: 32, image_size: 224}}\n", "eval: {batch_size: 16, workers: 1}\n");
  auto eval = run_loom(cat("eval ", (dir / "eval.yaml").string(), " ckpt=", (dir / "s32.safetensors").string()));
  INFO(eval.output);
  REQUIRE(eval.code == 0);
  CHECK_THAT(eval.output, Catch::Contains("val/zero_shot/top1 = ") && Catch::Contains("val/image_to_text_R@1 = "));
}

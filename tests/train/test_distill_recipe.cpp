// The distill recipe end to end on tiny networks: a 16x16 StyleGAN2 teacher trained for two steps, a
// BlazeStyleGAN student distilled from its run folder with every term on (pixel L1/L2 per level,
// perceptual, GAN with DiffAugment, lazy R1), FID/KID/perceptual distance against the teacher and the
// data, teacher | student grids; resume is bitwise exact; each ablation override trains; bad settings
// are errors naming the key.
#include <cstdlib>
#include <fstream>

#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "data/image_io.h"
#include "support/lpips_heads.h"
#include "support/trainer_test_util.h"
#include "train/stop_signal.h"
#include "train/trainer.h"

using namespace loom;
using namespace loom::test;

namespace {

const std::vector<std::string> kTinyTeacher{"model.resolution=16",
                                            "model.z_dim=16",
                                            "model.w_dim=16",
                                            "model.channel_base=128",
                                            "model.channel_max=16",
                                            "data.train.image_size=16",
                                            "data.train.images_per_class=4",
                                            "train.loader.batch_size=4",
                                            "train.threads=1",
                                            "train.eval_every=0",
                                            "train.sample_every=0",
                                            "train.checkpoint_every=0",
                                            "sample.count=4",
                                            "eval.num_real=16",
                                            "eval.num_fake=16",
                                            "eval.batch_size=16",
                                            "eval.kid_subsets=2",
                                            "eval.kid_subset_size=8"};

// A teacher run folder, trained once per test binary run.
std::filesystem::path teacher(const std::filesystem::path& root) {
  static std::filesystem::path made;
  if (!made.empty()) return made;
  std::vector<std::string> overrides = kTinyTeacher;
  overrides.push_back(cat("data.train.root=", (root / "shapes").string()));
  overrides.push_back("train.steps=2");
  ConfigNode config = load_config((source_dir() / "configs/stylegan2/small_shapes.yaml").string(), overrides);
  apply_override(config, cat("output={root: ", root.string(), ", name: teacher, id: t}"));
  stop_signal::reset();
  made = train(config, "teacher.yaml").run.dir;
  return made;
}

ConfigNode student_config(const std::filesystem::path& root, const std::string& id,
                          const std::vector<std::string>& extra) {
  std::vector<std::string> overrides{
      cat("recipe.teacher=", teacher(root).string()),
      cat("recipe.perceptual_loss.head_weights=", lpips_heads()),
      "recipe.d_reg_interval=2",
      "model.resolution=16",
      "model.z_dim=16",
      "model.w_dim=16",
      "model.channels=[16, 16]",
      cat("data.eval={name: synthetic_shapes, split: train, image_size: 16, images_per_class: 4, root: ",
          (root / "shapes").string(), "}"),
      "train.loader={batch_size: 4, workers: 1}",
      "train.threads=1",
      "train.eval_every=0",
      "train.sample_every=0",
      "train.checkpoint_every=0",
      "train.log_every=2",
      "train.ema={half_life_images: 50, rampup: 0.05}",
      "sample.count=4",
      "eval={num_fake: 16, num_real: 16, lpips_samples: 8, batch_size: 8, kid_subsets: 2, kid_subset_size: 8}",
      cat("eval.perceptual.head_weights=", lpips_heads())};
  overrides.insert(overrides.end(), extra.begin(), extra.end());
  ConfigNode config =
      load_config((source_dir() / "configs/blazestylegan/distill_small_shapes.yaml").string(), overrides);
  apply_override(config, cat("output={root: ", root.string(), ", name: distill, id: ", id, "}"));
  return config;
}

TrainResult run(const std::filesystem::path& root, const std::string& id, const std::vector<std::string>& extra) {
  stop_signal::reset();
  return train(student_config(root, id, extra), "distill.yaml");
}

}  // namespace

TEST_CASE("distill recipe: every term and evaluation against teacher and data and grids and exact resume",
          "[distill][recipe][resume]") {
  auto root = scratch("distill_recipe");
  TrainResult whole = run(root, "whole", {"train.steps=6"});
  CHECK(whole.steps == 6);
  std::map<std::string, double> m(whole.final_metrics.begin(), whole.final_metrics.end());
  for (const char* name : {"val/fid_to_teacher_fallback", "val/kid_to_teacher_fallback", "val/fid_to_data_fallback",
                           "val/fid_teacher_to_data_fallback", "val/lpips_vgg_random_backbone_to_teacher"}) {
    INFO(name);
    REQUIRE(m.count(name));
    CHECK(std::isfinite(m.at(name)));
  }
  CHECK(m.at("val/lpips_vgg_random_backbone_to_teacher") > 0);
  const std::string metrics = read_text(whole.run.metrics());
  for (const char* figure : {"train/S/l1", "train/S/l2", "train/S/perceptual", "train/S/adversarial",
                             "train/S/perceptual@16", "train/D/D(real)", "train/Dreg/r1_penalty"}) {
    INFO(figure);
    CHECK(metrics.find(figure) != std::string::npos);
  }
  const cv::Mat grid = data::read_image((whole.run.dir / "samples" / "teacher_student-000000006.png").string());
  CHECK(grid.rows == 32);  // 4 pairs: two 2x2 grids of 16 px, side by side with a 16 px gap
  CHECK(grid.cols == 32 + 16 + 32);

  TrainResult half = run(root, "split", {"train.steps=3"});
  TrainResult rest = run(root, "split", {"train.steps=6", "resume=auto"});
  CHECK(rest.steps == 6);
  require_identical(trained_tensors(whole.last_checkpoint), trained_tensors(rest.last_checkpoint));
}

TEST_CASE("distill cli: loom generate and export-weights and eval and info take the student", "[distill][cli]") {
  auto root = scratch("distill_cli");
  TrainResult r = run(root, "cli", {"train.steps=2"});
  // The runs record their model sections: a config without one generates from them.
  const std::string config = (root / "empty.yaml").string();
  {
    std::ofstream out(config);
    out << "{}\n";
  }
  const std::string student_grid = (root / "student.png").string(), teacher_grid = (root / "teacher.png").string();
  auto s =
      run_loom(cat("generate ", config, " ckpt=", r.run.dir.string(), " seeds=0-3 noise=const out=", student_grid));
  INFO(s.output);
  REQUIRE(s.code == 0);
  auto t =
      run_loom(cat("generate ", config, " ckpt=", teacher(root).string(), " seeds=0-3 noise=const out=", teacher_grid));
  INFO(t.output);
  REQUIRE(t.code == 0);
  const cv::Mat a = data::read_image(student_grid), b = data::read_image(teacher_grid);
  CHECK((a.rows == 32 && a.cols == 32));  // 4 images of 16 px, like the teacher's grid
  CHECK((b.rows == a.rows && b.cols == a.cols));
  // The exported student generates the same grid.
  const std::string exported = (root / "student.safetensors").string();
  auto x = run_loom(cat("export-weights ", r.run.dir.string(), " out=", exported));
  INFO(x.output);
  REQUIRE(x.code == 0);
  const std::string again = (root / "again.png").string();
  REQUIRE(run_loom(cat("generate ", config, " ckpt=", exported, " seeds=0-3 noise=const out=", again)).code == 0);
  CHECK(read_text(again) == read_text(student_grid));
  // A config that contradicts the student's widths is refused, naming the key.
  auto bad = run_loom(cat("generate ", config, " ckpt=", exported, " model.channels=[32,32] out=", again));
  CHECK(bad.code == 2);
  CHECK_THAT(bad.output, Catch::Contains("model.channels"));
  // `loom eval` with the run's resolved config: the student against the teacher again.
  auto e = run_loom(cat("eval ", r.run.config().string(), " ckpt=", r.run.dir.string()));
  INFO(e.output);
  CHECK(e.code == 0);
  CHECK_THAT(e.output, Catch::Contains("val/fid_to_teacher_fallback"));
  auto ew = run_loom(cat("eval ", r.run.config().string(), " ckpt=", exported));
  INFO(ew.output);
  CHECK(ew.code == 0);
  auto ebad = run_loom(cat("eval ", r.run.config().string(), " ckpt=", exported, " model.channels=[32,32]"));
  CHECK(ebad.code == 2);
  CHECK_THAT(ebad.output, Catch::Contains("model.channels"));
  auto info = run_loom(cat("info ", (source_dir() / "configs/blazestylegan/distill_small_shapes.yaml").string()));
  INFO(info.output);
  CHECK(info.code == 0);
  CHECK_THAT(info.output, Catch::Contains("synthesis"));
}

TEST_CASE("distill recipe: each ablation and setting is one override", "[distill][recipe]") {
  auto root = scratch("distill_ablations");
  const std::vector<std::vector<std::string>> settings{
      {"recipe.perceptual=0"},
      {"recipe.perceptual_loss.kind=vgg_l1", "recipe.perceptual_loss.head_weights=''"},
      {"recipe.perceptual_levels=final", "recipe.levels=[16]"},
      {"recipe.adversarial=0"},
      {"recipe.l1=0", "recipe.l2=0"},
      {"recipe.target=teacher_levels"},
      {"recipe.augment=ada", "recipe.ada={mode: ada, target: 0.0, interval: 1, kimg: 0.05}"},
      {"recipe.mode=data",
       cat("data.train={name: synthetic_shapes, split: train, image_size: 16, images_per_class: 4, root: ",
           (root / "shapes").string(), "}")},
      {"recipe.per_layer_styles=1", "recipe.mixed_styles=0"}};
  int i = 0;
  for (const auto& setting : settings) {
    INFO(setting.front());
    TrainResult r = run(root, cat("s", i++), [&] {
      auto extra = setting;
      extra.push_back("train.steps=2");
      return extra;
    }());
    CHECK(r.steps == 2);
  }
}

TEST_CASE("distill recipe: settings that do not fit the student or the teacher name their key", "[distill][recipe]") {
  auto root = scratch("distill_errors");
  CHECK_THROWS_WITH(run(root, "e1", {"train.steps=1", "recipe.levels=[12]"}),
                    Catch::Contains("recipe.levels") && Catch::Contains("12"));
  CHECK_THROWS_WITH(run(root, "e2", {"train.steps=1", "model.w_dim=32"}), Catch::Contains("model.w_dim"));
  CHECK_THROWS_WITH(run(root, "e3", {"train.steps=1", "model.resolution=32", "model.channels=[16, 16, 16]"}),
                    Catch::Contains("model.resolution"));
  CHECK_THROWS_WITH(
      run(root, "e4", {"train.steps=1", "recipe.l1=0", "recipe.l2=0", "recipe.perceptual=0", "recipe.adversarial=0"}),
      Catch::Contains("loss weight"));
  CHECK_THROWS_WITH(run(root, "e5", {"train.steps=1", cat("recipe.teacher=", (root / "nothing").string())}),
                    Catch::Contains("nothing"));
  CHECK_THROWS_WITH(run(root, "e6", {"train.steps=1", "recipe.diffaugment=color,zoom"}),
                    Catch::Contains("recipe.diffaugment"));
}

// The recipe contract beyond phases (train/recipe.h): frozen modules, step hooks, staged phases, named
// losses, and the bad-input errors around them. Runs the "toy_student" recipe (support/).
#include <fstream>

#include <torch/torch.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/config/config_error.h"
#include "core/error.h"
#include "core/io/weights.h"
#include "support/toy_recipes.h"
#include "support/trainer_test_util.h"
#include "train/stop_signal.h"
#include "train/trainer.h"

using namespace loom;
using namespace loom::test;

namespace {

std::string student_config(const std::filesystem::path& root, const std::string& id, const std::string& teacher) {
  return cat("recipe: {name: toy_student, teacher: '", teacher, "'}\n", "optimizer: {name: adam, lr: 0.002}\n",
             "output: {root: ", root.string(), ", name: student, id: ", id, "}\n",
             "train:\n  steps: 12\n  seed: 5\n  threads: 1\n  log_every: 4\n  checkpoint_every: 6\n",
             "  loader: {batch_size: 16, workers: 1}\n  phases: {D: {start: 4}}\n");
}

TrainResult run(const std::string& text, const std::vector<std::string>& overrides = {}) {
  register_toy_recipes();
  stop_signal::reset();
  ConfigNode config = yaml(text);
  for (const auto& o : overrides) apply_override(config, o);
  return train(config, "student.yaml");
}

// A teacher whose w_avg and BatchNorm statistics are far from their initial values, so "unchanged"
// after training means something.
std::filesystem::path write_teacher(const std::filesystem::path& path, double shift) {
  torch::manual_seed(11);
  ToyTeacher teacher;
  {
    torch::NoGradGuard no_grad;
    teacher->mapping->w_avg.normal_().add_(shift);
    teacher->norm->running_mean.uniform_(-1, 1);
    teacher->norm->running_var.uniform_(0.5, 2);
  }
  weights::write(path.string(), weights::state_dict(*teacher));
  return path;
}

double metric(const TrainResult& r, const std::string& name) {
  for (const auto& [key, value] : r.final_metrics)
    if (key == name) return value;
  FAIL("no metric " << name);
  return 0;
}

}  // namespace

TEST_CASE("frozen modules stay in eval mode, collect no gradients and stay out of checkpoints", "[trainer][frozen]") {
  auto root = scratch("contract_frozen");
  auto teacher = write_teacher(root / "teacher.safetensors", 1.0);
  TrainResult r = run(student_config(root, "a", teacher.string()));
  REQUIRE(r.steps == 12);
  CHECK(metric(r, "val/frozen_moved") == 0.0);  // w_avg and BatchNorm running statistics untouched
  CHECK(metric(r, "val/frozen_grads") == 0.0);
  CHECK(metric(r, "val/frozen_trainable") == 0.0);
  CHECK(metric(r, "val/teacher_training") == 0.0);

  // Checkpoints hold the trained modules only, and record where the frozen ones came from.
  LoadedCheckpoint checkpoint = CheckpointStore::load(r.last_checkpoint);
  int64_t frozen_bytes = 0;
  for (const auto& [name, tensor] : weights::read(teacher.string()))
    frozen_bytes += static_cast<int64_t>(tensor.nbytes());
  for (const auto& [name, tensor] : checkpoint.contents.tensors) {
    INFO(name);
    CHECK_FALSE(name.starts_with("module.teacher"));
    CHECK_FALSE(name.starts_with("module.perceptual"));
  }
  CHECK(static_cast<int64_t>(std::filesystem::file_size(r.last_checkpoint / "tensors.safetensors")) < frozen_bytes / 4);
  auto state = nlohmann::json::parse(checkpoint.contents.state_json);
  CHECK(state["frozen"]["teacher"]["source"] == teacher.string());
  CHECK(state["frozen"]["teacher"]["hash"].get<std::string>().size() == 8);
  CHECK(state["frozen"]["perceptual"]["source"] == "");

  // Resuming with other teacher weights is refused, naming the module and both files.
  auto other = write_teacher(root / "other.safetensors", 2.0);
  auto step6 = r.run.checkpoints() / "step-000000006";
  CHECK_THROWS_WITH(run(student_config(root, "other", other.string()), {cat("resume=", step6.string())}),
                    Catch::Contains("frozen module 'teacher'") && Catch::Contains("other.safetensors") &&
                        Catch::Contains("teacher.safetensors"));
  // With the same weights it continues.
  TrainResult resumed = run(student_config(root, "same", teacher.string()), {cat("resume=", step6.string())});
  CHECK(resumed.steps == 12);
  CHECK(metric(resumed, "val/frozen_moved") == 0.0);

  CHECK_THROWS_AS(run(student_config(root, "b", (root / "missing.safetensors").string())), UserError);
}

TEST_CASE("step hooks run once per step, phases start by config, run by predicate, named losses are logged",
          "[trainer][hooks]") {
  auto root = scratch("contract_hooks");
  TrainResult r = run(student_config(root, "a", ""));
  CHECK(metric(r, "val/before_steps") == 12);
  CHECK(metric(r, "val/after_steps") == 12);
  CHECK(metric(r, "val/last_before_step") == 11);
  CHECK(metric(r, "val/last_after_images") == 12 * 16);  // after_step sees its own step's images
  CHECK(metric(r, "val/D_runs") == 8);                   // train.phases.D.start = 4: steps 4..11
  CHECK(metric(r, "val/Sreg_runs") == 6);                // odd steps
  // The recipe's probe task (every 5 steps) ran after steps 5 and 10 by the time the final evaluation
  // (which runs before the recipe's tasks) looked, and once more at the end.
  CHECK(metric(r, "val/probe_runs") == 2);
  CHECK(metric(r, "val/probe_last_step") == 10);
  std::vector<int64_t> probed;
  {
    std::ifstream in(r.run.metrics());
    for (std::string line; std::getline(in, line);)
      if (auto j = nlohmann::json::parse(line); j.contains("val/probe_distance"))
        probed.push_back(j["step"].get<int64_t>());
  }
  CHECK(probed == std::vector<int64_t>{5, 10, 12});

  std::ifstream lines(r.run.metrics());
  std::vector<nlohmann::json> records;
  for (std::string line; std::getline(lines, line);)
    if (auto j = nlohmann::json::parse(line); j.contains("train/S/loss")) records.push_back(j);
  REQUIRE(records.size() >= 3);
  CHECK(records[0]["step"] == 4);
  CHECK_FALSE(records[0].contains("train/D/loss"));  // steps 0-3: D had not started
  CHECK(records[1].contains("train/D/loss"));
  CHECK(records[1].contains("train/D/real_score"));
  for (const auto& j : records) {
    CHECK(j.contains("train/S/distill"));
    CHECK(j.contains("train/S/adversarial"));
    CHECK_FALSE(j.contains("recipe/before"));  // counters are checkpointed, not logged
    CHECK(std::abs(j["train/S/loss"].get<double>() - j["train/S/distill"].get<double>() -
                   j["train/S/adversarial"].get<double>()) < 1e-6);
  }
}

TEST_CASE("staged phases and frozen weights: bad input names the key", "[trainer][hooks]") {
  auto root = scratch("contract_bad");
  CHECK_THROWS_WITH(run(student_config(root, "a", ""), {"train.phases.D.start=9", "train.phases.D.stop=5"}),
                    Catch::Contains("train.phases.D") && Catch::Contains("start 9 is after stop 5"));
  CHECK_THROWS_WITH(run(student_config(root, "b", ""), {"train.phases.Dd.start=2"}),
                    Catch::Contains("train.phases.Dd") && Catch::Contains("did you mean 'D'"));
  CHECK_THROWS_WITH(run(student_config(root, "c", (root / "nope.safetensors").string())),
                    Catch::Contains("nope.safetensors"));
}

TEST_CASE("ragged boxes move with a flip and a crop, one image trains at batch 4, a mixture tags its sources",
          "[trainer][data]") {
  auto root = scratch("contract_data");
  // One sample, batches of 4: drawn with replacement (the default sampler refuses, pointing at the option).
  TrainResult one = run(student_config(root, "one", ""), {"recipe.data=boxed_image", "train.loader.batch_size=4",
                                                          "train.loader.sampler=with_replacement", "train.steps=6"});
  CHECK(metric(one, "val/batch_size") == 4);
  CHECK(metric(one, "val/batch_size_kinds") == 1);
  CHECK(metric(one, "val/image_samples") == 6 * 4);
  CHECK(metric(one, "val/box_mismatches") == 0);  // every sample's boxes flipped, cropped, the outside one removed
  CHECK_THROWS_WITH(run(student_config(root, "refused", ""), {"recipe.data=boxed_image", "train.loader.batch_size=4"}),
                    Catch::Contains("sampler"));

  TrainResult mixed = run(student_config(root, "mixed", ""), {"recipe.data=mixture"});
  CHECK(metric(mixed, "val/image_samples") + metric(mixed, "val/point_samples") == 12 * 16);
  CHECK(metric(mixed, "val/image_samples") > 40);  // weights 1:1 over 192 draws
  CHECK(metric(mixed, "val/point_samples") > 40);
  CHECK(metric(mixed, "val/box_mismatches") == 0);  // image samples carry their boxes, point samples none
}

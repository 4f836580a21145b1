// "toy_student": the recipe contract end to end. A student learns to match a frozen teacher (a
// StyleGAN2 mapping network with w_avg, then BatchNorm) through a frozen "perceptual" network, with
// named losses; a discriminator phase can be staged from the config (train.phases.D.start); a
// regulariser phase runs by predicate (odd steps); latents are drawn once per step in before_step;
// after_step records what it saw. The data (recipe.data) is either one image with two boxes, flipped
// and cropped (a one-sample dataset at any batch size, with sampler: with_replacement), or a mixture of
// that image and 64 points. evaluate() reports what the tests check: that the frozen modules did not
// move and collected no gradients, how often each hook and phase ran, and what the boxes looked like.
#include <cmath>
#include <set>

#include <torch/torch.h>
#include <opencv2/core.hpp>

#include "core/config/config_loader.h"
#include "core/config/config_schema.h"
#include "core/io/weights.h"
#include "core/registry/registries.h"
#include "data/dataset.h"
#include "data/mixture.h"
#include "data/transforms.h"
#include "models/stylegan2/mapping_network.h"
#include "support/toy_recipes.h"
#include "train/components.h"
#include "train/frozen_modules.h"
#include "train/recipe.h"

namespace loom::test {

ToyTeacherImpl::ToyTeacherImpl() {
  mapping = register_module("mapping", MappingNetwork(MappingOptions{.z_dim = 8, .w_dim = 256, .num_layers = 8}));
  norm = register_module("norm", torch::nn::BatchNorm1d(256));
  head = register_module("head", torch::nn::Linear(256, 2));
}

at::Tensor ToyTeacherImpl::forward(const at::Tensor& z) {
  return head->forward(norm->forward(mapping->forward(z, {})));
}

namespace {

// Points on the unit circle; only the batch size matters to the recipe.
class CircleDataset : public data::Dataset {
 public:
  int64_t size() const override { return 64; }
  data::Sample get(int64_t index, std::mt19937_64&) const override {
    data::Sample s;
    double angle = 2 * M_PI * static_cast<double>(index) / 64;
    s.tensors["point"] = torch::tensor({static_cast<float>(std::cos(angle)), static_cast<float>(std::sin(angle))});
    return s;
  }
  std::string describe() const override { return "64 points on a circle"; }
};

// One 32x32 image with two boxes (labels 1 and 2), flipped and center-cropped to 24x24: the first box
// [4, 6, 12, 20] becomes [16, 2, 24, 16]; the second, [0, 0, 3, 3], leaves the crop and is removed.
class OneBoxedImage : public data::Dataset {
 public:
  OneBoxedImage()
      : transforms_(data::Transforms::from_config(core_yaml("[{name: hflip, p: 1.0}, {name: center_crop, size: 24}]"),
                                                  "toy_student.transforms")) {}
  int64_t size() const override { return 1; }
  data::Sample get(int64_t, std::mt19937_64& rng) const override {
    cv::Mat rgb(32, 32, CV_8UC3, cv::Scalar(40, 120, 200));
    data::Targets targets;
    targets.boxes = torch::tensor({4.0f, 6.0f, 12.0f, 20.0f, 0.0f, 0.0f, 3.0f, 3.0f}).reshape({2, 4});
    targets.attributes["labels"] = torch::tensor({1, 2}, torch::kLong);
    data::Sample s;
    s.tensors["image"] = transforms_(rgb, targets, rng);
    data::add_targets(s, targets, "gt_", data::RaggedCollate::list);
    return s;
  }
  std::string describe() const override { return "one 32x32 image with two boxes"; }

 private:
  static ConfigNode core_yaml(const std::string& text) { return parse_yaml(text, "toy_student"); }
  data::Transforms transforms_;
};

struct StudentOptions {
  std::string name;
  std::string teacher;          // weight file of the frozen teacher ("" = as built from the seed)
  std::string data = "points";  // points | boxed_image | mixture

  template <class V>
  void visit(V& v) {
    v("name", name);
    v("teacher", teacher, {.help = "teacher weights"});
    v("data", data, {.help = "training data", .choices = {"points", "boxed_image", "mixture"}});
  }
};

torch::nn::Sequential mlp(int64_t in, int64_t hidden, int64_t out) {
  return torch::nn::Sequential(torch::nn::Linear(in, hidden), torch::nn::ReLU(), torch::nn::Linear(hidden, out));
}

class ToyStudent : public Recipe {
 public:
  explicit ToyStudent(const ConfigNode& config)
      : o_(read_config<StudentOptions>(required_section(config, "recipe"), "recipe")),
        optimizer_(required_section(config, "optimizer")) {}
  std::vector<std::string> sections() const override { return {"optimizer"}; }

  TrainSetup setup(const RecipeContext& context) override {
    TrainSetup s;
    if (o_.data == "points") s.train_data = std::make_shared<CircleDataset>();
    if (o_.data == "boxed_image") s.train_data = std::make_shared<OneBoxedImage>();
    if (o_.data == "mixture")
      s.train_data = std::make_shared<data::Mixture>(std::vector<data::Mixture::Source>{
          {"image", 1.0, std::make_shared<OneBoxedImage>()}, {"points", 1.0, std::make_shared<CircleDataset>()}});
    teacher_ = ToyTeacher();
    s.frozen["teacher"] = freeze_module(teacher_.ptr(), o_.teacher, context.device, "recipe.teacher");
    perceptual_ = torch::nn::Sequential(torch::nn::Linear(2, 32), torch::nn::BatchNorm1d(32), torch::nn::ReLU(),
                                        torch::nn::Linear(32, 8));
    s.frozen["perceptual"] = freeze_module(perceptual_.ptr(), "", context.device);
    for (const auto& [name, t] : weights::state_dict(*teacher_))
      frozen_at_start_.emplace_back("teacher." + name, t.clone());
    for (const auto& [name, t] : weights::state_dict(*perceptual_))
      frozen_at_start_.emplace_back("perceptual." + name, t.clone());
    student_ = mlp(8, 32, 2);
    D_ = mlp(2, 32, 1);
    s.modules = {{"student", student_.ptr()}, {"D", D_.ptr()}};
    s.optimizers["S"] = {make_optimizer(named_parameters(*student_), optimizer_, "optimizer"), nullptr};
    s.optimizers["D"] = {make_optimizer(named_parameters(*D_), optimizer_, "optimizer"), nullptr};
    s.phases.push_back({"S", student_->parameters(), "S", 1, [this](const data::Batch& batch, const StepInfo&) {
                          inspect(batch);
                          at::Tensor target = teacher_->forward(z_), output = student_->forward(z_);
                          at::Tensor distill =
                              (perceptual_->forward(output) - perceptual_->forward(target)).square().mean();
                          at::Tensor adversarial = torch::softplus(-D_->forward(output)).mean() * 0.1;
                          return LossOutput{{{"distill", distill}, {"adversarial", adversarial}}, {}};
                        }});
    s.phases.push_back({"D", D_->parameters(), "D", 1, [this](const data::Batch&, const StepInfo&) {
                          d_runs_ += 1;
                          at::Tensor real = D_->forward(teacher_->forward(z_)),
                                     fake = D_->forward(student_->forward(z_).detach());
                          return LossOutput{torch::softplus(fake).mean() + torch::softplus(-real).mean(),
                                            {{"real_score", real.mean()}}};
                        }});
    Phase odd{"Sreg", student_->parameters(), "S", 1, [this](const data::Batch&, const StepInfo&) {
                odd_runs_ += 1;
                at::Tensor weight_norm = torch::zeros({});
                for (const auto& p : student_->parameters()) weight_norm = weight_norm + p.square().sum();
                return LossOutput{weight_norm * 1e-4};
              }};
    odd.when = [](int64_t step) { return step % 2 == 1; };
    s.phases.push_back(std::move(odd));
    // A recipe's own periodic work, at its own cadence: a cheap probe every 5 steps (and at the end).
    s.tasks.push_back({"probe", 5, true, [this](const EvalContext& context) {
                         probe_steps_.push_back(context.step);
                         return Scalars{{"val/probe_distance",
                                         (student_->forward(z_) - teacher_->forward(z_)).norm().item<double>()}};
                       }});
    return s;
  }

  // Which source each sample came from, and whether each image sample's boxes are the expected ones.
  void inspect(const data::Batch& batch) {
    batch_sizes_.insert(static_cast<double>(batch.size()));
    const bool mixed = batch.tensors.count("source") > 0;
    if (!batch.lists.count("gt_boxes")) return;
    const auto& boxes = batch.list("gt_boxes");
    const auto& labels = batch.list("gt_labels");
    const at::Tensor want = torch::tensor({16.0f, 2.0f, 24.0f, 16.0f}).reshape({1, 4});
    for (int64_t i = 0; i < batch.size(); ++i) {
      const bool image = !mixed || batch.at("source")[i].item<int64_t>() == 0;
      (image ? image_samples_ : point_samples_) += 1;
      const auto& b = boxes[static_cast<size_t>(i)];
      const auto& l = labels[static_cast<size_t>(i)];
      const bool ok = image ? (torch::equal(b, want) && l.numel() == 1 && l[0].item<int64_t>() == 1) : b.size(0) == 0;
      box_mismatches_ += ok ? 0 : 1;
    }
  }

  void before_step(const StepInfo& info) override {
    before_steps_ += 1;
    last_before_step_ = static_cast<double>(info.step);
    z_ = torch::randn({16, 8});  // the step's latents, shared by its phases
  }
  void after_step(const StepInfo& info) override {
    after_steps_ += 1;
    last_after_images_ = static_cast<double>(info.images_seen);
  }

  Scalars evaluate(const EvalContext&) override {
    double moved = 0, grads = 0, trainable = 0;
    auto current = weights::state_dict(*teacher_);
    for (const auto& [name, t] : weights::state_dict(*perceptual_)) current.emplace_back("perceptual." + name, t);
    for (size_t i = 0; i < frozen_at_start_.size(); ++i)
      moved += (current[i].second - frozen_at_start_[i].second).abs().sum().item<double>();
    for (auto* module :
         {static_cast<torch::nn::Module*>(teacher_.get()), static_cast<torch::nn::Module*>(perceptual_.get())})
      for (const auto& p : module->parameters()) {
        grads += p.grad().defined() ? 1 : 0;
        trainable += p.requires_grad() ? 1 : 0;
      }
    return {{"val/frozen_moved", moved},
            {"val/frozen_grads", grads},
            {"val/frozen_trainable", trainable},
            {"val/before_steps", before_steps_},
            {"val/after_steps", after_steps_},
            {"val/last_before_step", last_before_step_},
            {"val/last_after_images", last_after_images_},
            {"val/D_runs", d_runs_},
            {"val/Sreg_runs", odd_runs_},
            {"val/teacher_training", teacher_->is_training() ? 1.0 : 0.0},
            {"val/image_samples", image_samples_},
            {"val/point_samples", point_samples_},
            {"val/box_mismatches", box_mismatches_},
            {"val/batch_size_kinds", static_cast<double>(batch_sizes_.size())},
            {"val/batch_size", batch_sizes_.empty() ? 0.0 : *batch_sizes_.begin()},
            {"val/probe_runs", static_cast<double>(probe_steps_.size())},
            {"val/probe_last_step", probe_steps_.empty() ? -1.0 : static_cast<double>(probe_steps_.back())}};
  }
  std::map<std::string, double> counters() const override {
    return {{"before", before_steps_}, {"after", after_steps_}, {"d_runs", d_runs_}, {"odd_runs", odd_runs_}};
  }
  void set_counters(const std::map<std::string, double>& c) override {
    before_steps_ = c.at("before");
    after_steps_ = c.at("after");
    d_runs_ = c.at("d_runs");
    odd_runs_ = c.at("odd_runs");
  }

 private:
  StudentOptions o_;
  ConfigNode optimizer_;
  ToyTeacher teacher_{nullptr};
  torch::nn::Sequential perceptual_{nullptr}, student_{nullptr}, D_{nullptr};
  weights::NamedTensors frozen_at_start_;
  at::Tensor z_;
  double image_samples_ = 0, point_samples_ = 0, box_mismatches_ = 0;
  std::set<double> batch_sizes_;
  std::vector<int64_t> probe_steps_;
  double before_steps_ = 0, after_steps_ = 0, last_before_step_ = -1, last_after_images_ = 0, d_runs_ = 0,
         odd_runs_ = 0;
};

}  // namespace

void register_toy_student_recipe() {
  recipe_registry().add(
      "toy_student", [](const ConfigNode& c) { return std::make_shared<ToyStudent>(c); },
      "test: frozen teacher, hooks, staged phases");
}

}  // namespace loom::test

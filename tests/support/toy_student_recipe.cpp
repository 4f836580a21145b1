// "toy_student": the recipe contract end to end on 2-D points. A student learns to match a frozen
// teacher (a StyleGAN2 mapping network with w_avg, then BatchNorm) through a frozen "perceptual"
// network, with named losses; a discriminator phase can be staged from the config
// (train.phases.D.start); a regulariser phase runs by predicate (odd steps); latents are drawn once per
// step in before_step; after_step records what it saw. evaluate() reports what the tests check: that
// the frozen modules did not move and collected no gradients, and how often each hook and phase ran.
#include <cmath>

#include <torch/torch.h>

#include "core/config/config_schema.h"
#include "core/io/weights.h"
#include "core/registry/registries.h"
#include "data/dataset.h"
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

at::Tensor ToyTeacherImpl::forward(const at::Tensor& z) { return head->forward(norm->forward(mapping->forward(z, {}))); }

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

struct StudentOptions {
  std::string name;
  std::string teacher;  // weight file of the frozen teacher ("" = as built from the seed)

  template <class V>
  void visit(V& v) {
    v("name", name);
    v("teacher", teacher, {.help = "teacher weights"});
  }
};

torch::nn::Sequential mlp(int64_t in, int64_t hidden, int64_t out) {
  return torch::nn::Sequential(torch::nn::Linear(in, hidden), torch::nn::ReLU(), torch::nn::Linear(hidden, out));
}

class ToyStudent : public Recipe {
 public:
  explicit ToyStudent(const ConfigNode& config)
      : o_(read_config<StudentOptions>(required_section(config, "recipe"), "recipe")), optimizer_(required_section(config, "optimizer")) {}
  std::vector<std::string> sections() const override { return {"optimizer"}; }

  TrainSetup setup(const RecipeContext& context) override {
    TrainSetup s;
    s.train_data = std::make_shared<CircleDataset>();
    teacher_ = ToyTeacher();
    s.frozen["teacher"] = freeze_module(teacher_.ptr(), o_.teacher, context.device);
    perceptual_ = torch::nn::Sequential(torch::nn::Linear(2, 32), torch::nn::BatchNorm1d(32), torch::nn::ReLU(), torch::nn::Linear(32, 8));
    s.frozen["perceptual"] = freeze_module(perceptual_.ptr(), "", context.device);
    for (const auto& [name, t] : weights::state_dict(*teacher_)) frozen_at_start_.emplace_back("teacher." + name, t.clone());
    for (const auto& [name, t] : weights::state_dict(*perceptual_)) frozen_at_start_.emplace_back("perceptual." + name, t.clone());
    student_ = mlp(8, 32, 2);
    D_ = mlp(2, 32, 1);
    s.modules = {{"student", student_.ptr()}, {"D", D_.ptr()}};
    s.optimizers["S"] = {make_optimizer(named_parameters(*student_), optimizer_, "optimizer"), nullptr};
    s.optimizers["D"] = {make_optimizer(named_parameters(*D_), optimizer_, "optimizer"), nullptr};
    s.phases.push_back({"S", student_->parameters(), "S", 1, [this](const data::Batch&, const StepInfo&) {
                          at::Tensor target = teacher_->forward(z_), output = student_->forward(z_);
                          at::Tensor distill = (perceptual_->forward(output) - perceptual_->forward(target)).square().mean();
                          at::Tensor adversarial = torch::softplus(-D_->forward(output)).mean() * 0.1;
                          return LossOutput{{{"distill", distill}, {"adversarial", adversarial}}, {}};
                        }});
    s.phases.push_back({"D", D_->parameters(), "D", 1, [this](const data::Batch&, const StepInfo&) {
                          d_runs_ += 1;
                          at::Tensor real = D_->forward(teacher_->forward(z_)), fake = D_->forward(student_->forward(z_).detach());
                          return LossOutput{torch::softplus(fake).mean() + torch::softplus(-real).mean(), {{"real_score", real.mean()}}};
                        }});
    Phase odd{"Sreg", student_->parameters(), "S", 1, [this](const data::Batch&, const StepInfo&) {
                odd_runs_ += 1;
                at::Tensor weight_norm = torch::zeros({});
                for (const auto& p : student_->parameters()) weight_norm = weight_norm + p.square().sum();
                return LossOutput{weight_norm * 1e-4};
              }};
    odd.when = [](int64_t step) { return step % 2 == 1; };
    s.phases.push_back(std::move(odd));
    return s;
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
    for (size_t i = 0; i < frozen_at_start_.size(); ++i) moved += (current[i].second - frozen_at_start_[i].second).abs().sum().item<double>();
    for (auto* module : {static_cast<torch::nn::Module*>(teacher_.get()), static_cast<torch::nn::Module*>(perceptual_.get())})
      for (const auto& p : module->parameters()) {
        grads += p.grad().defined() ? 1 : 0;
        trainable += p.requires_grad() ? 1 : 0;
      }
    return {{"val/frozen_moved", moved},          {"val/frozen_grads", grads},          {"val/frozen_trainable", trainable},
            {"val/before_steps", before_steps_},  {"val/after_steps", after_steps_},    {"val/last_before_step", last_before_step_},
            {"val/last_after_images", last_after_images_}, {"val/D_runs", d_runs_}, {"val/Sreg_runs", odd_runs_},
            {"val/teacher_training", teacher_->is_training() ? 1.0 : 0.0}};
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
  double before_steps_ = 0, after_steps_ = 0, last_before_step_ = -1, last_after_images_ = 0, d_runs_ = 0, odd_runs_ = 0;
};

}  // namespace

void register_toy_student_recipe() {
  recipe_registry().add("toy_student", [](const ConfigNode& c) { return std::make_shared<ToyStudent>(c); },
                        "test: frozen teacher, hooks, staged phases");
}

}  // namespace loom::test

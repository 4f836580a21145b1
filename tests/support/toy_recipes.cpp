#include "support/toy_recipes.h"

#include <csignal>
#include <limits>
#include <mutex>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "app/register_all.h"
#include "core/registry/registries.h"
#include "data/dataset.h"
#include "data/image_io.h"
#include "train/components.h"
#include "train/ema.h"
#include "train/recipe.h"

namespace loom::test {
namespace {

// Points of a ring of 8 Gaussians (the classic toy GAN target); label = the mode.
class RingDataset : public data::Dataset {
 public:
  int64_t size() const override { return 512; }
  data::Sample get(int64_t index, std::mt19937_64& rng) const override {
    std::normal_distribution<float> noise(0.0f, 0.05f);
    double angle = 2 * M_PI * static_cast<double>(index % 8) / 8;
    data::Sample s;
    s.tensors["point"] = torch::tensor(
        {static_cast<float>(std::cos(angle)) + noise(rng), static_cast<float>(std::sin(angle)) + noise(rng)});
    s.tensors["label"] = torch::tensor(index % 8, torch::kLong);
    return s;
  }
  std::string describe() const override { return "ring of 8 Gaussians (512 points)"; }
};

struct ToyOptions {
  std::string name;
  int64_t hidden = 16;
  int64_t reg_interval = 4;
  int64_t nan_at_step = -1;     // the G (or main) loss becomes NaN at this step
  int64_t signal_at_step = -1;  // raise SIGTERM during this step
  bool only_g = false;          // no D phases: D is a frozen module
  bool index_latents = false;   // latents from (sample index, step), not the generator: the same
                                // global batch then sees the same latents on any number of ranks

  template <class V>
  void visit(V& v) {
    v("name", name);
    v("hidden", hidden, {.min = 1});
    v("reg_interval", reg_interval, {.min = 1});
    v("nan_at_step", nan_at_step);
    v("signal_at_step", signal_at_step);
    v("only_g", only_g);
    v("index_latents", index_latents);
  }
};

torch::nn::Sequential mlp(int64_t in, int64_t hidden, int64_t out) {
  return torch::nn::Sequential(torch::nn::Linear(in, hidden),
                               torch::nn::LeakyReLU(torch::nn::LeakyReLUOptions().negative_slope(0.2)),
                               torch::nn::Linear(hidden, out));
}

at::Tensor inject(const ToyOptions& o, const StepInfo& info, at::Tensor loss) {
  if (info.step == o.signal_at_step && info.micro_batch == 0) std::raise(SIGTERM);
  if (info.step == o.nan_at_step) return loss * std::numeric_limits<double>::quiet_NaN();
  return loss;
}

class ToyGan : public Recipe {
 public:
  explicit ToyGan(const ConfigNode& config)
      : o_(read_config<ToyOptions>(required_section(config, "recipe"), "recipe")),
        optimizer_(required_section(config, "optimizer")) {}
  std::vector<std::string> sections() const override { return {"optimizer"}; }

  TrainSetup setup(const RecipeContext&) override {
    G_ = mlp(4, o_.hidden, 2).ptr();
    D_ = mlp(2, o_.hidden, 1).ptr();
    G_ema_ = mlp(4, o_.hidden, 2).ptr();
    ema_update(*G_ema_, *G_, 0.0);
    TrainSetup s;
    s.train_data = std::make_shared<RingDataset>();
    s.modules = {{"G", G_}, {"D", D_}};
    s.ema["G"] = EmaPair{G_, G_ema_};
    s.optimizers["G"] = {make_optimizer(named_parameters(*G_), optimizer_, "optimizer"), nullptr};
    s.optimizers["D"] = {make_optimizer(named_parameters(*D_), optimizer_, "optimizer", o_.reg_interval), nullptr};
    auto fake = [this](const data::Batch& b, const StepInfo& info) {
      if (!o_.index_latents) return G_->forward(torch::randn({b.size(), 4}));
      std::vector<at::Tensor> rows;
      for (int64_t index : b.indices)
        rows.push_back(torch::randn(
            {4}, at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(index * 1000003 + info.step))));
      return G_->forward(torch::stack(rows));
    };
    s.phases.push_back({"G", G_->parameters(), "G", 1, [this, fake](const data::Batch& b, const StepInfo& info) {
                          at::Tensor loss = torch::softplus(-D_->forward(fake(b, info))).mean();
                          return LossOutput{inject(o_, info, loss), {}};
                        }});
    if (o_.only_g) return s;
    s.phases.push_back({"D", D_->parameters(), "D", 1, [this, fake](const data::Batch& b, const StepInfo& info) {
                          at::Tensor real = D_->forward(b.at("point")), generated = D_->forward(fake(b, info).detach());
                          return LossOutput{torch::softplus(generated).mean() + torch::softplus(-real).mean(),
                                            {{"real_score", real.mean()}}};
                        }});
    s.phases.push_back(
        {"Dreg", D_->parameters(), "D", o_.reg_interval, [this](const data::Batch& b, const StepInfo&) {
           reg_runs_ += 1;
           at::Tensor real = b.at("point").detach().requires_grad_(true);
           at::Tensor grad = torch::autograd::grad({D_->forward(real).sum()}, {real}, {}, true, true)[0];
           return LossOutput{grad.square().sum(1).mean() * 0.5 * static_cast<double>(o_.reg_interval), {}};
         }});
    return s;
  }

  Scalars evaluate(const EvalContext&) override {
    at::Tensor radius = G_ema_->forward(torch::randn({256, 4})).norm(2, 1);
    return {{"val/mean_radius", radius.mean().item<double>()}};
  }
  // A 32x32 histogram of generated points over [-1.5, 1.5]^2.
  void write_samples(const EvalContext& context) override {
    at::Tensor points = G_ema_->forward(torch::randn({1024, 4}));
    at::Tensor cells = ((points + 1.5) / 3.0 * 32).floor().clamp(0, 31).to(torch::kLong);
    at::Tensor image =
        torch::zeros({32 * 32}).index_add_(0, cells.select(1, 1) * 32 + cells.select(1, 0), torch::ones({1024}));
    image = (image / image.max()).reshape({1, 32, 32});
    if (context.metrics) context.metrics->add_image("samples/points", image, context.step);
    data::write_png((context.samples_dir / cat("points-", context.step, ".png")).string(), image.expand({3, 32, 32}));
  }
  std::map<std::string, double> counters() const override { return {{"reg_runs", reg_runs_}}; }
  void set_counters(const std::map<std::string, double>& c) override { reg_runs_ = c.at("reg_runs"); }

 private:
  ToyOptions o_;
  ConfigNode optimizer_;
  std::shared_ptr<torch::nn::SequentialImpl> G_, D_, G_ema_;
  double reg_runs_ = 0;
};

// Predicts the label's angle (cos, sin) from the point: one phase, no BatchNorm, no randomness in the
// loss, so gradient accumulation must match a bigger batch.
class ToyRegression : public Recipe {
 public:
  explicit ToyRegression(const ConfigNode& config)
      : o_(read_config<ToyOptions>(required_section(config, "recipe"), "recipe")),
        optimizer_(required_section(config, "optimizer")) {}
  std::vector<std::string> sections() const override { return {"optimizer"}; }

  TrainSetup setup(const RecipeContext&) override {
    net_ = mlp(2, o_.hidden, 2).ptr();
    TrainSetup s;
    s.train_data = std::make_shared<RingDataset>();
    s.modules = {{"model", net_}};
    s.optimizers["main"] = {make_optimizer(named_parameters(*net_), optimizer_, "optimizer"), nullptr};
    s.phases.push_back(
        {"main", net_->parameters(), "main", 1, [this](const data::Batch& b, const StepInfo& info) {
           at::Tensor angle = b.at("label").to(torch::kFloat) * (2 * M_PI / 8);
           at::Tensor target = torch::stack({angle.cos(), angle.sin()}, 1);
           return LossOutput{inject(o_, info, (net_->forward(b.at("point")) - target).square().mean()), {}};
         }});
    return s;
  }
  Scalars evaluate(const EvalContext&) override { return {}; }

 private:
  ToyOptions o_;
  ConfigNode optimizer_;
  std::shared_ptr<torch::nn::SequentialImpl> net_;
};

}  // namespace

void register_toy_recipes() {
  static std::once_flag once;
  std::call_once(once, [] {
    register_all();
    recipe_registry().add(
        "toy_gan", [](const ConfigNode& c) { return std::make_shared<ToyGan>(c); }, "test: 2-D GAN");
    recipe_registry().add(
        "toy_regression", [](const ConfigNode& c) { return std::make_shared<ToyRegression>(c); }, "test: regression");
    register_toy_student_recipe();
  });
}

}  // namespace loom::test

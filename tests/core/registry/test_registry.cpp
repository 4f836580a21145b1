#include <catch2/catch.hpp>

#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>

#include "app/register_all.h"
#include "core/config/config_loader.h"
#include "core/registry/registries.h"
#include "models/classifier/convnet.h"
#include "train/optim/schedules.h"

using namespace loom;

TEST_CASE("every registry exists and the families are registered") {
  register_all();
  register_all();  // idempotent
  std::vector<std::string> kinds;
  for (const RegistryBase* r : all_registries()) kinds.push_back(r->kind());
  CHECK(kinds ==
        std::vector<std::string>{"models", "recipes", "datasets", "losses", "optimizers", "schedules", "metrics"});
  CHECK(model_registry().contains("convnet"));
  CHECK(loss_registry().contains("focal_contrastive"));
  CHECK(optimizer_registry().contains("adamw"));
  CHECK(schedule_registry().contains("warmup_cosine"));
}

TEST_CASE("unknown names suggest the closest registered one") {
  register_all();
  CHECK_THROWS_WITH(model_registry().get("convnnet"), Catch::Contains("did you mean 'convnet'"));
  ConfigNode section = parse_yaml("name: adamm\nlr: 0.1\n", "opt.yaml");
  CHECK_THROWS_WITH(
      registered_name(optimizer_registry(), section, "optimizer"),
      Catch::Contains("opt.yaml:1: optimizer.name: 'adamm' is not one of") && Catch::Contains("did you mean 'adam'"));
  ConfigNode unnamed = parse_yaml("lr: 0.1\n", "opt.yaml");
  CHECK_THROWS_WITH(registered_name(optimizer_registry(), unnamed, "optimizer"),
                    Catch::Contains("optimizer.name: missing required value"));
}

TEST_CASE("convnet parameter and multiply-accumulate counts match a hand count") {
  register_all();
  auto model = model_registry().get("convnet")(
      parse_yaml("name: convnet\nwidths: [8, 16]\nimage_size: 32\nnum_classes: 5\n", "m.yaml"), "model");
  int64_t params = 0;
  for (const auto& p : model->parameters()) params += p.numel();
  // conv 3->8 (3x3, no bias) + BN(8) + conv 8->16 + BN(16) + linear 16->5
  CHECK(params == 3 * 8 * 9 + 2 * 8 + 8 * 16 * 9 + 2 * 16 + 16 * 5 + 5);
  auto macs = model->multiply_accumulates();
  REQUIRE(macs.size() == 2);
  CHECK(macs[0].second == 32 * 32 * 8 * 3 * 9 + 16 * 16 * 16 * 8 * 9);
  CHECK(macs[1].second == 16 * 5);
  auto& convnet = dynamic_cast<ConvNet&>(*model);
  CHECK(convnet.forward(torch::zeros({2, 3, 32, 32})).sizes() == at::IntArrayRef{2, 5});
}

TEST_CASE("optimizer factories apply the configured options") {
  register_all();
  auto w = torch::zeros({3, 3}, torch::requires_grad());
  auto b = torch::zeros({3}, torch::requires_grad());
  auto adamw = optimizer_registry().get("adamw")(
      {{"fc.weight", w}, {"fc.bias", b}},
      parse_yaml("name: adamw\nlr: 0.01\nbetas: [0.8, 0.9]\nweight_decay: 0.1\n", "o.yaml"), 1.0);
  auto& o = static_cast<torch::optim::AdamWOptions&>(adamw->param_groups()[0].options());
  CHECK(o.lr() == 0.01);
  CHECK(std::get<0>(o.betas()) == 0.8);
  CHECK(o.weight_decay() == 0.1);
  // Biases (< 2 dims) go to a second group without weight decay.
  REQUIRE(adamw->param_groups().size() == 2);
  CHECK(static_cast<torch::optim::AdamWOptions&>(adamw->param_groups()[1].options()).weight_decay() == 0.0);
  // Lazy regularisation every 16 steps: lr and betas adjusted by c = 16/17.
  auto lazy = optimizer_registry().get("adam")(
      {{"w", w}}, parse_yaml("name: adam\nlr: 0.0025\nbetas: [0, 0.99]\n", "o.yaml"), 16.0 / 17.0);
  auto& lo = static_cast<torch::optim::AdamOptions&>(lazy->param_groups()[0].options());
  CHECK(lo.lr() == Approx(0.0025 * 16 / 17));
  CHECK(std::get<1>(lo.betas()) == Approx(std::pow(0.99, 16.0 / 17.0)));
  CHECK_THROWS_WITH(
      optimizer_registry().get("adam")({{"w", w}}, parse_yaml("name: adam\nbetas: [0.9]\n", "o.yaml"), 1.0),
      Catch::Contains("expected 2 values"));
}

TEST_CASE("learning-rate schedules") {
  register_all();
  auto cosine = schedule_registry().get("warmup_cosine")(
      parse_yaml("name: warmup_cosine\nwarmup_steps: 10\ntotal_steps: 110\nfinal_factor: 0.1\n", "s.yaml"), "schedule");
  CHECK(cosine->factor(0) == Approx(0.1));
  CHECK(cosine->factor(9) == Approx(1.0));
  CHECK(cosine->factor(10) == Approx(1.0));
  CHECK(cosine->factor(60) == Approx(0.55));
  CHECK(cosine->factor(110) == Approx(0.1));
  CHECK(cosine->factor(500) == Approx(0.1));
  auto step =
      schedule_registry().get("step")(parse_yaml("name: step\nmilestones: [5, 8]\ngamma: 0.5\n", "s.yaml"), "schedule");
  CHECK(step->factor(4) == 1.0);
  CHECK(step->factor(5) == 0.5);
  CHECK(step->factor(8) == 0.25);
  CHECK_THROWS_WITH(schedule_registry().get("warmup_cosine")(parse_yaml("name: warmup_cosine\n", "s.yaml"), "schedule"),
                    Catch::Contains("total_steps: missing required value"));
}

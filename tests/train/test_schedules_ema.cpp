#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "train/ema.h"
#include "train/gradient_clipping.h"
#include "train/mixed_precision.h"
#include "train/optim/optimizers.h"

using namespace loom;

TEST_CASE("EMA beta: fixed decay, half-life in images, ramp-up, start step", "[ema]") {
  EmaOptions o;
  o.decay = 0.99;
  CHECK(ema_beta(o, 5, 32, 1000) == 0.99);
  o.half_life_images = 10000;
  CHECK(ema_beta(o, 5, 10000, 1e6) == Approx(0.5));
  CHECK(ema_beta(o, 5, 32, 1e6) == Approx(std::pow(0.5, 32.0 / 10000)));
  o.rampup = 0.05;  // after 20k images the half-life is at most 1000 images
  CHECK(ema_beta(o, 5, 32, 20000) == Approx(std::pow(0.5, 32.0 / 1000)));
  o.start_step = 10;
  CHECK(ema_beta(o, 5, 32, 20000) == 0.0);
}

TEST_CASE("EMA update averages parameters and copies buffers", "[ema]") {
  torch::nn::BatchNorm1d source(3), target(3);
  {
    torch::NoGradGuard g;
    source->weight.fill_(1.0);
    target->weight.fill_(0.0);
    source->running_mean.fill_(7.0);
  }
  ema_update(*target, *source, 0.75);
  CHECK(torch::allclose(target->weight, torch::full({3}, 0.25)));
  CHECK(torch::equal(target->running_mean, source->running_mean));
  ema_update(*target, *source, 0.0);
  CHECK(torch::equal(target->weight, source->weight));
}

TEST_CASE("gradient clipping by global norm and by value", "[clip]") {
  auto a = torch::zeros({2}, torch::requires_grad()), b = torch::zeros({1}, torch::requires_grad());
  a.mutable_grad() = torch::tensor({3.0f, 0.0f});
  b.mutable_grad() = torch::tensor({4.0f});
  CHECK(clip_gradients({a, b}, {"norm", 1.0}) == Approx(5.0));
  CHECK(torch::allclose(a.grad(), torch::tensor({0.6f, 0.0f}), 1e-5));
  CHECK(b.grad().item<float>() == Approx(0.8f).epsilon(1e-5));
  b.mutable_grad() = torch::tensor({4.0f});
  clip_gradients({b}, {"value", 0.5});
  CHECK(b.grad().item<float>() == 0.5f);
}

TEST_CASE("weight-decay exclusions and the lazy-regularisation ratio", "[optim]") {
  DecayExclusions rule;
  CHECK(rule.excludes("fc.bias", torch::zeros({4})));
  CHECK(rule.excludes("logit_scale", torch::zeros({})));
  CHECK(rule.excludes("token_embedding.weight", torch::zeros({10, 4})));
  CHECK_FALSE(rule.excludes("fc.weight", torch::zeros({4, 4})));
  rule.decay_1d = true;
  CHECK_FALSE(rule.excludes("fc.bias", torch::zeros({4})));
  CHECK(lazy_regularization_ratio(1) == 1.0);
  CHECK(lazy_regularization_ratio(16) == Approx(16.0 / 17.0));
}

TEST_CASE("fp16 loss scaling: overflow skips the step and halves the scale, clean steps grow it", "[amp]") {
  AmpOptions o;
  o.enabled = true;
  o.dtype = "fp16";
  o.init_scale = 1024;
  o.growth_interval = 2;
  LossScaler scaler(o, c10::Device(c10::kCPU));
  REQUIRE(scaler.active());
  auto p = torch::zeros({3}, torch::requires_grad());
  scaler.scale((p * 2).sum()).backward();
  CHECK(torch::allclose(p.grad(), torch::full({3}, 2048.0f)));
  CHECK(scaler.unscale({p}));  // gradients back to 2
  CHECK(torch::allclose(p.grad(), torch::full({3}, 2.0f)));
  scaler.update();
  p.mutable_grad() = torch::tensor({1.0f, std::numeric_limits<float>::infinity(), 0.0f});
  CHECK_FALSE(scaler.unscale({p}));
  scaler.update();
  CHECK(scaler.current() == 512.0);  // halved on overflow, growth counter reset
  for (int i = 0; i < 2; ++i) {
    p.mutable_grad() = torch::ones({3});
    CHECK(scaler.unscale({p}));
    scaler.update();
  }
  CHECK(scaler.current() == 1024.0);  // doubled after growth_interval clean steps
  LossScaler restored(o, c10::Device(c10::kCPU));
  restored.set_state(scaler.state());
  CHECK(restored.current() == 1024.0);
  o.dtype = "bf16";
  CHECK_FALSE(LossScaler(o, c10::Device(c10::kCPU)).active());
}

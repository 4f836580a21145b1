#include <catch2/catch.hpp>
#include <torch/torch.h>

#include "train/ema.h"
#include "train/gradient_clipping.h"
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

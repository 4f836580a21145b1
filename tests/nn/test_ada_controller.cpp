// loom::nn::AdaController: the direction and exact size of each p step, the clamps, the update cadence,
// the fixed and off modes, distributed accumulator hand-off and a checkpoint round trip mid-interval.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "core/error.h"
#include "nn/ada_controller.h"

using loom::nn::AdaController;
using loom::nn::AdaOptions;

namespace {

// Logits whose signs average to `mean_sign` (n = 10 values).
at::Tensor logits_with_mean_sign(double mean_sign) {
  const int positives = static_cast<int>(std::lround((mean_sign + 1) * 5));
  at::Tensor t = at::full({10}, -2.0);
  t.narrow(0, 0, positives).fill_(3.0);
  return t;
}

}  // namespace

TEST_CASE("p rises above the target, falls below it, by batch · interval / (kimg · 1000)", "[ada]") {
  AdaController ada(AdaOptions{.target = 0.6, .interval = 4, .kimg = 100, .initial_p = 0.5});
  const double step = 32.0 * 4 / (100 * 1000);
  for (int i = 0; i < 4; ++i) ada.observe(logits_with_mean_sign(0.8));
  CHECK(ada.count() == 40);
  CHECK(ada.sign_sum() == Approx(32));
  ada.update(32);
  CHECK(ada.p() == Approx(0.5 + step).epsilon(1e-12));
  CHECK(ada.last_mean_sign() == Approx(0.8));
  CHECK(ada.count() == 0);
  CHECK(ada.sign_sum() == 0);
  ada.observe(logits_with_mean_sign(0.2));
  ada.update(32);
  CHECK(ada.p() == Approx(0.5).epsilon(1e-12));
  ada.observe(logits_with_mean_sign(0.6));  // exactly on target: no move
  ada.update(32);
  CHECK(ada.p() == Approx(0.5).epsilon(1e-12));
  ada.update(32);  // nothing observed: no move
  CHECK(ada.p() == Approx(0.5).epsilon(1e-12));
  // Zero logits have sign 0.
  ada.observe(at::zeros({4}));
  CHECK(ada.sign_sum() == 0);
  CHECK(ada.count() == 4);
}

TEST_CASE("p is clamped to [0, 1]", "[ada]") {
  AdaController ada(AdaOptions{.kimg = 1});  // one step of 64 · 4 images moves p by 0.256
  ada.observe(logits_with_mean_sign(-1));
  ada.update(64);
  CHECK(ada.p() == 0.0);
  for (int i = 0; i < 6; ++i) {
    ada.observe(logits_with_mean_sign(1));
    ada.update(64);
  }
  CHECK(ada.p() == 1.0);
}

TEST_CASE("updates are due after every interval-th completed iteration", "[ada]") {
  AdaController ada(AdaOptions{.interval = 4});
  CHECK(!ada.due(0));
  CHECK(!ada.due(1));
  CHECK(!ada.due(3));
  CHECK(ada.due(4));
  CHECK(!ada.due(5));
  CHECK(ada.due(8));
}

TEST_CASE("fixed and off modes ignore the discriminator", "[ada]") {
  AdaController fixed(AdaOptions{.mode = "fixed", .initial_p = 0.3});
  AdaController off(AdaOptions{.mode = "off", .initial_p = 0.3});
  for (AdaController* ada : {&fixed, &off}) {
    ada->observe(logits_with_mean_sign(1));
    CHECK(!ada->due(4));
    ada->update(64);
  }
  CHECK(fixed.p() == 0.3);
  CHECK(off.p() == 0.0);
  CHECK_THROWS_AS(AdaController(AdaOptions{.mode = "auto"}), loom::UserError);
  CHECK_THROWS_AS(AdaController(AdaOptions{.interval = 0}), loom::UserError);
}

TEST_CASE("summed accumulators from several ranks drive one update", "[ada]") {
  AdaController rank0(AdaOptions{.kimg = 10}), rank1(AdaOptions{.kimg = 10});
  rank0.observe(logits_with_mean_sign(1.0));   // mean 1.0
  rank1.observe(logits_with_mean_sign(-0.2));  // mean -0.2: together 0.4 < 0.6
  const double sum = rank0.sign_sum() + rank1.sign_sum(), count = rank0.count() + rank1.count();
  rank0.set_accumulators(sum, count);
  rank0.update(16);
  CHECK(rank0.last_mean_sign() == Approx(0.4));
  CHECK(rank0.p() == 0.0);  // moved down from 0, clamped
}

TEST_CASE("state round trip mid-interval resumes exactly", "[ada]") {
  const AdaOptions options{.target = 0.5, .interval = 2, .kimg = 2};
  AdaController a(options);
  a.observe(logits_with_mean_sign(0.8));
  a.update(8);
  a.observe(logits_with_mean_sign(0.4));  // pending when the checkpoint is taken
  const auto saved = a.state();
  CHECK(saved.at("count") == 10);

  AdaController b(options);
  b.restore(saved);
  for (AdaController* ada : {&a, &b}) {
    ada->observe(logits_with_mean_sign(0.8));
    ada->update(8);
  }
  CHECK(a.p() == b.p());
  CHECK(a.last_mean_sign() == b.last_mean_sign());
  CHECK(a.state() == b.state());
  CHECK_THROWS_AS(b.restore({{"p", 0.1}}), loom::UserError);
}

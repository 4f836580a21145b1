// loom::focal_contrastive_loss on CPU: kernel vs the plain-ATen reference, hand-checked values, finite
// differences, layouts, thread-count independence and argument checks.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <optional>
#include <vector>

#include "ops/focal_contrastive.h"
#include "support/focal_contrastive_check.h"

namespace {

using loom::ops::focal_contrastive_loss;
using loom::ops::focal_contrastive_loss_reference;
using loom::test::eval;
using loom::test::LossAndGrad;
using loom::test::rel_err;

void check_against_reference(const at::Tensor& logits, const at::Tensor& targets, double alpha, double gamma,
                             std::optional<double> normalizer, double tol) {
  const LossAndGrad got = eval(&focal_contrastive_loss, logits, targets, alpha, gamma, normalizer);
  // The reference runs in float64 on the same (rounded) inputs: in float32 its literal
  // max(x,0) - x*y cancels for large positive x, so it would be the less accurate side.
  const LossAndGrad want =
      eval(&focal_contrastive_loss_reference, logits.to(at::kDouble), targets, alpha, gamma, normalizer);
  INFO("shape " << logits.sizes() << " dtype " << logits.scalar_type() << " alpha " << alpha << " gamma " << gamma
                << " normalizer " << normalizer.value_or(0.0));
  INFO("loss " << got.loss.item<double>() << " vs reference " << want.loss.item<double>());
  REQUIRE(got.loss.dim() == 0);
  REQUIRE(got.loss.scalar_type() == logits.scalar_type());
  REQUIRE(got.grad.scalar_type() == logits.scalar_type());
  REQUIRE(got.grad.sizes() == logits.sizes());
  CHECK(rel_err(got.loss, want.loss) <= tol);
  CHECK(rel_err(got.grad, want.grad) <= tol);
}

void sweep(at::ScalarType dtype, double tol) {
  torch::manual_seed(0);
  const auto opts = at::TensorOptions().dtype(dtype);
  for (int64_t B : {1, 2, 7, 64, 130}) {
    const at::Tensor logits = torch::randn({B, B}, opts) * 4;
    const at::Tensor targets = torch::arange(B, at::kLong);
    for (double alpha : {0.5, 0.25, 0.9}) {
      for (double gamma : {0.0, 1.0, 2.0, 0.5}) {
        check_against_reference(logits, targets, alpha, gamma, std::nullopt, tol);
        check_against_reference(logits, targets, alpha, gamma, static_cast<double>(B), tol);
      }
    }
  }
  const std::vector<std::pair<int64_t, int64_t>> shapes = {{5, 33}, {17, 3}, {3, 1}, {130, 257}, {40, 1000}};
  for (const auto& [N, C] : shapes) {
    const at::Tensor logits = torch::randn({N, C}, opts) * 4;
    const at::Tensor targets = torch::randint(C, {N}, at::kLong);
    for (double gamma : {0.0, 1.0, 2.0, 0.5}) {
      check_against_reference(logits, targets, 0.25, gamma, std::nullopt, tol);
      check_against_reference(logits, targets, 0.9, gamma, 7.5, tol);
    }
  }
}

}  // namespace

TEST_CASE("focal_contrastive_loss: the reference matches hand-computed values", "[ops][focal_contrastive]") {
  // One positive entry at x = 0: ce = log 2, modulator = (1 - 1/2)^gamma, weight 2*alpha.
  const at::Tensor zero = torch::zeros({1, 1}, at::kDouble);
  const at::Tensor t0 = torch::zeros({1}, at::kLong);
  CHECK(focal_contrastive_loss_reference(zero, t0, 0.5, 1.0).item<double>() == Approx(0.5 * std::log(2.0)));
  CHECK(focal_contrastive_loss_reference(zero, t0, 0.25, 2.0).item<double>() == Approx(0.5 * 0.25 * std::log(2.0)));
  // gamma = 0, alpha = 0.5: plain sigmoid BCE-with-logits, summed.
  torch::manual_seed(1);
  const at::Tensor x = torch::randn({6, 9}, at::kDouble);
  const at::Tensor t = torch::randint(9, {6}, at::kLong);
  const at::Tensor bce =
      at::binary_cross_entropy_with_logits(x, at::one_hot(t, 9).to(at::kDouble), {}, {}, at::Reduction::Sum);
  CHECK(focal_contrastive_loss_reference(x, t, 0.5, 0.0).item<double>() == Approx(bce.item<double>()).epsilon(1e-12));
  CHECK(focal_contrastive_loss(x, t, 0.5, 0.0, 4.0).item<double>() == Approx(bce.item<double>() / 4.0).epsilon(1e-12));
  // Defaults are alpha = 0.5, gamma = 1.
  CHECK(focal_contrastive_loss(x, t).item<double>() ==
        Approx(focal_contrastive_loss_reference(x, t, 0.5, 1.0).item<double>()).epsilon(1e-12));
}

TEST_CASE("focal_contrastive_loss: CPU kernel matches the reference in float64", "[ops][focal_contrastive]") {
  sweep(at::kDouble, 1e-12);
}

TEST_CASE("focal_contrastive_loss: CPU kernel matches the reference in float32", "[ops][focal_contrastive]") {
  sweep(at::kFloat, 1e-5);
}

TEST_CASE("focal_contrastive_loss: large logits stay finite", "[ops][focal_contrastive]") {
  torch::manual_seed(2);
  for (double mag : {50.0, 1e4}) {
    for (auto dtype : {at::kDouble, at::kFloat}) {
      const at::Tensor logits = torch::where(torch::rand({33, 33}) < 0.5, -mag, mag).to(dtype);
      const at::Tensor targets = torch::arange(33, at::kLong);
      for (double gamma : {0.0, 1.0, 2.0}) {
        const LossAndGrad got = eval(&focal_contrastive_loss, logits, targets, 0.25, gamma, std::nullopt);
        INFO("magnitude " << mag << " dtype " << dtype << " gamma " << gamma);
        CHECK(std::isfinite(got.loss.item<double>()));
        CHECK(got.grad.isfinite().all().item<bool>());
        if (dtype == at::kDouble) check_against_reference(logits, targets, 0.25, gamma, std::nullopt, 1e-12);
      }
    }
  }
}

TEST_CASE("focal_contrastive_loss: backward matches central differences (float64)", "[ops][focal_contrastive]") {
  torch::manual_seed(3);
  const at::Tensor logits = torch::randn({4, 6}, at::kDouble) * 3;
  const at::Tensor targets = torch::tensor({5, 0, 2, 2}, at::kLong);
  const double h = 1e-6;
  for (double gamma : {0.0, 0.5, 1.0, 2.0}) {
    for (double alpha : {0.25, 0.9}) {
      const std::optional<double> normalizer = gamma == 1.0 ? std::optional<double>(3.0) : std::nullopt;
      const at::Tensor grad = eval(&focal_contrastive_loss, logits, targets, alpha, gamma, normalizer).grad;
      at::Tensor numeric = torch::empty_like(logits);
      for (int64_t i = 0; i < logits.numel(); ++i) {
        at::Tensor plus = logits.clone(), minus = logits.clone();
        plus.view(-1)[i] += h;
        minus.view(-1)[i] -= h;
        const double fp = focal_contrastive_loss(plus, targets, alpha, gamma, normalizer).item<double>();
        const double fm = focal_contrastive_loss(minus, targets, alpha, gamma, normalizer).item<double>();
        numeric.view(-1)[i] = (fp - fm) / (2 * h);
      }
      INFO("alpha " << alpha << " gamma " << gamma);
      CHECK(rel_err(grad, numeric) < 1e-7);
    }
  }
}

TEST_CASE("focal_contrastive_loss: non-contiguous logits", "[ops][focal_contrastive]") {
  torch::manual_seed(4);
  const at::Tensor targets = torch::randint(37, {29}, at::kLong);
  // Gradients flow back through the view to the leaf, compared with the reference on the same view.
  const at::Tensor transposed_leaf = torch::randn({37, 29}, at::kDouble) * 3;
  const at::Tensor strided_leaf = torch::randn({29, 74}, at::kDouble) * 3;
  const std::vector<std::pair<at::Tensor, std::function<at::Tensor(const at::Tensor&)>>> cases = {
      {transposed_leaf, [](const at::Tensor& t) { return t.t(); }},
      {strided_leaf, [](const at::Tensor& t) { return t.slice(1, 0, 74, 2); }}};
  for (const auto& [leaf, view] : cases) {
    REQUIRE_FALSE(view(leaf).is_contiguous());
    at::Tensor a = leaf.clone().requires_grad_(true), b = leaf.clone().requires_grad_(true);
    const at::Tensor la = focal_contrastive_loss(view(a), targets, 0.25, 2.0, 5.0);
    const at::Tensor lb = focal_contrastive_loss_reference(view(b), targets, 0.25, 2.0, 5.0);
    la.backward();
    lb.backward();
    CHECK(rel_err(la, lb) < 1e-12);
    CHECK(rel_err(a.grad(), b.grad()) < 1e-12);
  }
}

TEST_CASE("focal_contrastive_loss: results do not depend on the thread count", "[ops][focal_contrastive]") {
  torch::manual_seed(5);
  const int saved = at::get_num_threads();
  for (auto dtype : {at::kFloat, at::kDouble}) {
    // 600 x 600 spans several fixed row chunks, so the partial sums really are combined.
    const at::Tensor logits = torch::randn({600, 600}, dtype) * 4;
    const at::Tensor targets = torch::arange(600, at::kLong);
    at::set_num_threads(1);
    const LossAndGrad one = eval(&focal_contrastive_loss, logits, targets, 0.25, 2.0, 600.0);
    at::set_num_threads(2);
    const LossAndGrad two = eval(&focal_contrastive_loss, logits, targets, 0.25, 2.0, 600.0);
    CHECK(torch::equal(one.loss, two.loss));
    CHECK(torch::equal(one.grad, two.grad));
  }
  at::set_num_threads(saved);
}

TEST_CASE("focal_contrastive_loss: bfloat16 and float16 are close to the reference", "[ops][focal_contrastive]") {
  torch::manual_seed(6);
  const at::Tensor targets = torch::arange(64, at::kLong);
  for (auto dtype : {at::kBFloat16, at::kHalf}) {
    const at::Tensor logits = (torch::randn({64, 64}) * 4).to(dtype);
    // The same rounded inputs in float64, so only the kernel's own rounding is measured.
    const at::Tensor exact = logits.to(at::kDouble);
    const LossAndGrad got = eval(&focal_contrastive_loss, logits, targets, 0.25, 1.0, 64.0);
    const LossAndGrad want = eval(&focal_contrastive_loss_reference, exact, targets, 0.25, 1.0, 64.0);
    const double tol = dtype == at::kBFloat16 ? 1e-2 : 2e-3;
    INFO("dtype " << dtype);
    CHECK(got.loss.scalar_type() == dtype);
    CHECK(got.grad.scalar_type() == dtype);
    CHECK(rel_err(got.loss, want.loss) < tol);
    CHECK(rel_err(got.grad, want.grad) < tol);
  }
}

TEST_CASE("focal_contrastive_loss: bad arguments throw with a message naming the problem", "[ops][focal_contrastive]") {
  const at::Tensor x = torch::randn({4, 5});
  const at::Tensor t = torch::tensor({0, 1, 2, 4}, at::kLong);
  using Catch::Contains;
  CHECK_THROWS_WITH(focal_contrastive_loss(torch::randn({4}), t), Contains("must be 2-D"));
  CHECK_THROWS_WITH(focal_contrastive_loss(torch::randn({2, 4, 5}), t), Contains("must be 2-D"));
  CHECK_THROWS_WITH(focal_contrastive_loss(x.to(at::kInt), t), Contains("logits must be float32"));
  CHECK_THROWS_WITH(focal_contrastive_loss(x, t.to(at::kInt)), Contains("targets must be int64"));
  CHECK_THROWS_WITH(focal_contrastive_loss(x, torch::tensor({0, 1}, at::kLong)), Contains("one entry per row"));
  CHECK_THROWS_WITH(focal_contrastive_loss(x, torch::tensor({0, 1, 5, 2}, at::kLong)),
                    Contains("targets[2] = 5 is out of range [0, 5)"));
  CHECK_THROWS_WITH(focal_contrastive_loss(x, torch::tensor({0, -1, 2, 3}, at::kLong)), Contains("out of range"));
  CHECK_THROWS_WITH(focal_contrastive_loss(x, t, 1.5), Contains("alpha must be in [0, 1]"));
  CHECK_THROWS_WITH(focal_contrastive_loss(x, t, 0.5, -1.0), Contains("gamma must be"));
  CHECK_THROWS_WITH(focal_contrastive_loss(x, t, 0.5, 1.0, 0.0), Contains("normalizer must be"));
  CHECK_THROWS_WITH(focal_contrastive_loss_reference(x, t, 0.5, 1.0, -2.0), Contains("normalizer must be"));
}

TEST_CASE("focal_contrastive_loss: autograd wiring", "[ops][focal_contrastive]") {
  const at::Tensor x = torch::randn({3, 3}, at::kDouble).requires_grad_(true);
  const at::Tensor loss = focal_contrastive_loss(x, torch::arange(3, at::kLong));
  REQUIRE(loss.requires_grad());
  // The backward kernel is not differentiable: asking for a second derivative fails loudly.
  const at::Tensor g = torch::autograd::grad({loss}, {x}, {}, /*retain_graph=*/true, /*create_graph=*/true)[0];
  CHECK_THROWS(torch::autograd::grad({g.sum()}, {x}));
  // Without grad mode the op still runs (and records nothing).
  torch::NoGradGuard no_grad;
  CHECK_FALSE(focal_contrastive_loss(x.detach(), torch::arange(3, at::kLong)).requires_grad());
}

// loom::perceptual_distance on CPU: kernel vs the plain-ATen reference (values and all gradients),
// central differences, layouts, a detached target, all-zero pixels, reduced precision, argument checks.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <array>
#include <functional>
#include <string>
#include <tuple>
#include <vector>

#include "ops/cpu_capability.h"
#include "ops/perceptual_distance.h"
#include "ops/perceptual_distance_cpu.h"
#include "support/gradient_check.h"

namespace {

using loom::ops::perceptual_distance;
using loom::ops::perceptual_distance_reference;
using loom::test::relative_error;

using DistanceFn = at::Tensor (*)(const at::Tensor&, const at::Tensor&, const at::Tensor&, double);

struct Outputs {
  at::Tensor d, f0, f1, weight;  // the distance and the gradients (undefined where not asked for)
};

// d and the gradients to f0 (always), f1 and weight (when asked), for the upstream gradient `up` [N].
Outputs eval(DistanceFn fn, const at::Tensor& f0, const at::Tensor& f1, const at::Tensor& w, double eps, bool grad_f1,
             bool grad_weight, const at::Tensor& up) {
  const at::Tensor a = f0.detach().requires_grad_(true);
  const at::Tensor b = f1.detach().requires_grad_(grad_f1);
  const at::Tensor v = w.detach().requires_grad_(grad_weight);
  const at::Tensor d = fn(a, b, v, eps);
  std::vector<at::Tensor> inputs{a};
  if (grad_f1) inputs.push_back(b);
  if (grad_weight) inputs.push_back(v);
  const auto grads = torch::autograd::grad({d}, inputs, {up});
  return {d.detach(), grads[0], grad_f1 ? grads[1] : at::Tensor(), grad_weight ? grads.back() : at::Tensor()};
}

// The first term g / (‖f‖ + eps) of the gradient to f (sign included), g = ∂d/∂(normalised f). Where
// C = 1 the two terms of the gradient cancel (f / ‖f‖ = ±1 is flat), so both sides are rounding noise of
// this size; feature gradients are compared relative to it (or to the reference, when larger).
at::Tensor first_term(const at::Tensor& f, const at::Tensor& f0, const at::Tensor& f1, const at::Tensor& w, double eps,
                      const at::Tensor& up, double sign) {
  const auto unit = [eps](const at::Tensor& x) { return x / (x.pow(2).sum(1, true).sqrt() + eps); };
  const double pixels = static_cast<double>(f0.size(2) * f0.size(3));
  const at::Tensor g = 2.0 * w.view({1, -1, 1, 1}) * (unit(f0) - unit(f1)) * up.view({-1, 1, 1, 1}) / pixels;
  return sign * g / (f.pow(2).sum(1, true).sqrt() + eps);
}

double gradient_error(const at::Tensor& got, const at::Tensor& want, const at::Tensor& term) {
  const double diff = (got.to(at::kDouble) - want.to(at::kDouble)).abs().max().item<double>();
  const double scale = std::max(want.abs().max().item<double>(), term.abs().max().item<double>());
  return diff == 0.0 ? 0.0 : diff / std::max(scale, 1e-300);
}

// Kernel (in the features' dtype) vs the reference in float64 on the same rounded inputs.
void check_against_reference(const at::Tensor& f0, const at::Tensor& f1, const at::Tensor& w, bool grad_f1,
                             bool grad_weight, double tol, double eps = 1e-10) {
  // The upstream gradient, rounded to the features' dtype so that both sides see the same values.
  const at::Tensor up = (torch::rand({f0.size(0)}, at::kDouble) + 0.5).to(f0.scalar_type());
  const Outputs got = eval(&perceptual_distance, f0, f1, w, eps, grad_f1, grad_weight, up);
  const at::Tensor a = f0.to(at::kDouble), b = f1.to(at::kDouble), v = w.to(at::kDouble);
  const Outputs want = eval(&perceptual_distance_reference, a, b, v, eps, grad_f1, grad_weight, up.to(at::kDouble));
  INFO("shape " << f0.sizes() << " dtype " << f0.scalar_type() << " grad f1 " << grad_f1 << " grad weight "
                << grad_weight << " eps " << eps);
  REQUIRE(got.d.sizes() == at::IntArrayRef{f0.size(0)});
  REQUIRE(got.d.scalar_type() == f0.scalar_type());
  REQUIRE(got.f0.sizes() == f0.sizes());
  REQUIRE(got.f0.scalar_type() == f0.scalar_type());
  CHECK(relative_error(got.d, want.d) <= tol);
  CHECK(gradient_error(got.f0, want.f0, first_term(a, a, b, v, eps, up.to(at::kDouble), 1.0)) <= tol);
  if (grad_f1) CHECK(gradient_error(got.f1, want.f1, first_term(b, a, b, v, eps, up.to(at::kDouble), -1.0)) <= tol);
  if (grad_weight) {
    REQUIRE(got.weight.scalar_type() == w.scalar_type());
    CHECK(relative_error(got.weight, want.weight) <= tol);
  }
}

// (N, C, H, W): odd sizes, C = 1, tiles that end inside a vector (C = 64: 512-pixel tiles, C = 512: 64).
const std::vector<std::array<int64_t, 4>> kShapes = {
    {1, 1, 7, 5},     {2, 3, 7, 5},   {4, 64, 64, 48}, {3, 512, 7, 5},  {1, 512, 16, 16},
    {1, 512, 13, 11}, {2, 3, 64, 48}, {4, 1, 64, 48},  {2, 64, 37, 29}, {1, 64, 1, 1}};

void sweep(at::ScalarType dtype, double tol) {
  torch::manual_seed(0);
  for (const auto& [N, C, H, W] : kShapes) {
    const auto opts = at::TensorOptions().dtype(dtype);
    const at::Tensor f0 = torch::randn({N, C, H, W}, opts) * 3, f1 = torch::randn({N, C, H, W}, opts);
    const at::Tensor w = torch::rand({C}, opts);
    check_against_reference(f0, f1, w, false, false, tol);
    check_against_reference(f0, f1, w, true, true, tol);
  }
}

// Substring of the message a call throws, or "" if it does not throw.
std::string error_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const c10::Error& e) {
    return e.what_without_backtrace();
  }
  return "";
}

}  // namespace

TEST_CASE("perceptual_distance: the reference and the kernel match hand-computed values",
          "[ops][perceptual_distance]") {
  // One pixel, C = 2: f0 = (3, 4) -> (0.6, 0.8), f1 = (2, 0) -> (1, 0), w = (1, 2):
  // d = 1 * 0.4^2 + 2 * 0.8^2 = 1.44.
  const at::Tensor f0 = torch::tensor({3.0, 4.0}, at::kDouble).view({1, 2, 1, 1});
  const at::Tensor f1 = torch::tensor({2.0, 0.0}, at::kDouble).view({1, 2, 1, 1});
  const at::Tensor w = torch::tensor({1.0, 2.0}, at::kDouble);
  CHECK(perceptual_distance_reference(f0, f1, w).item<double>() == Approx(1.44).epsilon(1e-9));
  CHECK(perceptual_distance(f0, f1, w).item<double>() == Approx(1.44).epsilon(1e-9));
  // The spatial mean: a second pixel with equal features halves it.
  const at::Tensor g0 = torch::cat({f0, f0}, 3), g1 = torch::cat({f1, f0}, 3);
  CHECK(perceptual_distance(g0, g1, w).item<double>() == Approx(0.72).epsilon(1e-9));
}

TEST_CASE("perceptual_distance: CPU kernel matches the reference in float64", "[ops][perceptual_distance]") {
  sweep(at::kDouble, 1e-10);
}

TEST_CASE("perceptual_distance: CPU kernel matches the reference in float32", "[ops][perceptual_distance]") {
  sweep(at::kFloat, 1e-5);
}

TEST_CASE("perceptual_distance: a larger eps and features near zero", "[ops][perceptual_distance]") {
  torch::manual_seed(1);
  const at::Tensor f0 = torch::randn({2, 8, 5, 7}, at::kDouble) * 1e-3, f1 = torch::randn({2, 8, 5, 7}, at::kDouble);
  const at::Tensor w = torch::rand({8}, at::kDouble);
  check_against_reference(f0, f1, w, true, true, 1e-10, 1e-3);
  check_against_reference(f0.to(at::kFloat), f1.to(at::kFloat), w.to(at::kFloat), true, true, 1e-5, 1e-3);
}

TEST_CASE("perceptual_distance: backward matches central differences (float64)", "[ops][perceptual_distance]") {
  torch::manual_seed(2);
  for (const auto& [N, C, H, W] : std::vector<std::array<int64_t, 4>>{{2, 3, 3, 2}, {1, 5, 2, 3}, {2, 1, 2, 2}}) {
    const at::Tensor up = torch::rand({N}, at::kDouble) + 0.5;
    const auto fn = [&up](const std::vector<at::Tensor>& x) {
      return (perceptual_distance(x[0], x[1], x[2], 1e-10) * up).sum();
    };
    const std::vector<at::Tensor> inputs{torch::randn({N, C, H, W}, at::kDouble),
                                         torch::randn({N, C, H, W}, at::kDouble), torch::rand({C}, at::kDouble)};
    INFO("shape " << inputs[0].sizes());
    CHECK(loom::test::gradient_check_error(fn, inputs) < 1e-7);
  }
}

TEST_CASE("perceptual_distance: non-contiguous inputs", "[ops][perceptual_distance]") {
  torch::manual_seed(3);
  // Gradients flow back through the views to the leaves, compared with the reference on the same views.
  const at::Tensor f0_leaf = torch::randn({3, 9, 11, 6}, at::kDouble);   // [N, H, W, C]: channels last
  const at::Tensor f1_leaf = torch::randn({3, 6, 11, 18}, at::kDouble);  // every other column
  const at::Tensor w_leaf = torch::rand({12}, at::kDouble);              // every other entry
  const auto views = [](const at::Tensor& a, const at::Tensor& b, const at::Tensor& v) {
    return std::make_tuple(a.permute({0, 3, 1, 2}), b.slice(3, 0, 18, 2).transpose(2, 3), v.slice(0, 0, 12, 2));
  };
  const auto [v0, v1, vw] = views(f0_leaf, f1_leaf, w_leaf);
  REQUIRE_FALSE(v0.is_contiguous());
  REQUIRE_FALSE(v1.is_contiguous());
  REQUIRE_FALSE(vw.is_contiguous());
  REQUIRE(v0.sizes() == v1.sizes());
  std::vector<at::Tensor> got_leaves, want_leaves;
  for (const at::Tensor& leaf : {f0_leaf, f1_leaf, w_leaf}) {
    got_leaves.push_back(leaf.clone().requires_grad_(true));
    want_leaves.push_back(leaf.clone().requires_grad_(true));
  }
  const auto [a0, a1, aw] = views(got_leaves[0], got_leaves[1], got_leaves[2]);
  const auto [b0, b1, bw] = views(want_leaves[0], want_leaves[1], want_leaves[2]);
  const at::Tensor got = perceptual_distance(a0, a1, aw), want = perceptual_distance_reference(b0, b1, bw);
  got.sum().backward();
  want.sum().backward();
  CHECK(relative_error(got, want) < 1e-12);
  for (size_t i = 0; i < 3; ++i) {
    INFO("leaf " << i);
    CHECK(relative_error(got_leaves[i].grad(), want_leaves[i].grad()) < 1e-10);
  }
}

TEST_CASE("perceptual_distance: a detached target gets no gradient and skips its work", "[ops][perceptual_distance]") {
  torch::manual_seed(4);
  const at::Tensor f0 = torch::randn({2, 16, 9, 7}), f1 = torch::randn({2, 16, 9, 7}), w = torch::rand({16});
  const at::Tensor up = torch::rand({2});
  const auto capability = loom::ops::cpu_capability();
  const auto [only_f0, none1, none_w] =
      loom::ops::perceptual_distance_backward_cpu(up, f0, f1, w, 1e-10, {true, false, false}, capability);
  const auto [all_f0, all_f1, all_w] =
      loom::ops::perceptual_distance_backward_cpu(up, f0, f1, w, 1e-10, {true, true, true}, capability);
  CHECK_FALSE(none1.defined());
  CHECK_FALSE(none_w.defined());
  REQUIRE(all_f1.defined());
  REQUIRE(all_w.defined());
  CHECK(torch::equal(only_f0, all_f0));  // the cheaper path computes the same ∂/∂f0
  const auto [no_f0, just_f1, no_w] =
      loom::ops::perceptual_distance_backward_cpu(up, f0, f1, w, 1e-10, {false, true, false}, capability);
  CHECK_FALSE(no_f0.defined());
  CHECK(torch::equal(just_f1, all_f1));
  // Through autograd: f1 and weight do not require grad and get none.
  const at::Tensor a = f0.clone().requires_grad_(true);
  perceptual_distance(a, f1, w).sum().backward();
  CHECK(a.grad().defined());
  CHECK_FALSE(f1.grad().defined());
  CHECK_FALSE(w.grad().defined());
}

TEST_CASE("perceptual_distance: all-zero pixels get the limit g / eps", "[ops][perceptual_distance]") {
  torch::manual_seed(5);
  for (double eps : {1e-10, 1e-3}) {
    at::Tensor f0 = torch::randn({2, 5, 4, 3}, at::kDouble), f1 = torch::randn({2, 5, 4, 3}, at::kDouble);
    using torch::indexing::Slice;
    f0.index_put_({1, Slice(), 0, 0}, 0.0);
    f1.index_put_({1, Slice(), 3, 0}, 0.0);
    f0.index_put_({0, Slice(), 1, 2}, 0.0);  // zero in both
    f1.index_put_({0, Slice(), 1, 2}, 0.0);
    const at::Tensor w = torch::rand({5}, at::kDouble), up = torch::rand({2}, at::kDouble) + 0.5;
    const Outputs got = eval(&perceptual_distance, f0, f1, w, eps, true, true, up);
    const Outputs want = eval(&perceptual_distance_reference, f0, f1, w, eps, true, true, up);
    INFO("eps " << eps);
    CHECK(relative_error(got.d, want.d) < 1e-12);
    CHECK(relative_error(got.weight, want.weight) < 1e-12);
    CHECK(want.f0.isnan().any().item<bool>());  // the ATen composition: 0 / 0 in sqrt's backward
    for (const auto& [mine, theirs, f, sign] :
         {std::make_tuple(got.f0, want.f0, f0, 1.0), std::make_tuple(got.f1, want.f1, f1, -1.0)}) {
      REQUIRE(mine.isfinite().all().item<bool>());
      const at::Tensor zero = (f == 0).all(1, true).expand_as(f);
      REQUIRE(zero.any().item<bool>());
      const at::Tensor limit = first_term(f, f0, f1, w, eps, up, sign);
      CHECK(relative_error(mine.masked_select(zero), limit.masked_select(zero)) < 1e-12);
      CHECK(relative_error(mine.masked_select(~zero), theirs.masked_select(~zero)) < 1e-10);
    }
  }
}

TEST_CASE("perceptual_distance: identical features give exactly zero", "[ops][perceptual_distance]") {
  torch::manual_seed(6);
  const at::Tensor f = torch::randn({2, 64, 13, 9}), w = torch::rand({64});
  const Outputs got = eval(&perceptual_distance, f, f.clone(), w, 1e-10, true, true, torch::ones({2}));
  CHECK(torch::equal(got.d, torch::zeros({2})));
  CHECK(torch::equal(got.f0, torch::zeros_like(f)));
  CHECK(torch::equal(got.f1, torch::zeros_like(f)));
  CHECK(torch::equal(got.weight, torch::zeros_like(w)));
}

TEST_CASE("perceptual_distance: float16 and bfloat16 features, mixed weight dtype", "[ops][perceptual_distance]") {
  torch::manual_seed(7);
  const at::Tensor f0 = torch::randn({2, 32, 9, 11}), f1 = torch::randn({2, 32, 9, 11}), w = torch::rand({32});
  for (const auto& [dtype, tol] : {std::make_pair(at::kHalf, 2e-3), std::make_pair(at::kBFloat16, 1e-2)}) {
    INFO("dtype " << dtype);
    check_against_reference(f0.to(dtype), f1.to(dtype), w, true, true, tol);  // float32 weight
  }
  check_against_reference(f0, f1, w.to(at::kDouble), true, true, 1e-5);  // float64 weight, float32 features
}

TEST_CASE("perceptual_distance: an empty batch", "[ops][perceptual_distance]") {
  const at::Tensor empty = torch::zeros({0, 3, 4, 4}, torch::requires_grad());
  const at::Tensor d = perceptual_distance(empty, torch::zeros({0, 3, 4, 4}), torch::ones({3}));
  CHECK(d.sizes() == at::IntArrayRef{0});
  d.sum().backward();
  CHECK(empty.grad().sizes() == empty.sizes());
}

TEST_CASE("perceptual_distance: bad arguments name the problem", "[ops][perceptual_distance]") {
  const at::Tensor f = torch::randn({2, 3, 4, 5}), w = torch::rand({3});
  CHECK_THAT(error_of([&] {
               perceptual_distance(f.view({2, 3, 20}), f.view({2, 3, 20}), w);
             }),
             Catch::Contains("f0 must be 4-D"));
  CHECK_THAT(error_of([&] { perceptual_distance(f, f.narrow(3, 0, 4), w); }), Catch::Contains("shape of f0"));
  CHECK_THAT(error_of([&] { perceptual_distance(f, f.to(at::kDouble), w); }), Catch::Contains("same dtype"));
  CHECK_THAT(error_of([&] { perceptual_distance(f.to(at::kInt), f.to(at::kInt), w); }),
             Catch::Contains("float32, float64, float16 or bfloat16"));
  CHECK_THAT(error_of([&] { perceptual_distance(f, f, torch::rand({4})); }),
             Catch::Contains("weight must be 1-D [C] = [3]"));
  CHECK_THAT(error_of([&] {
               perceptual_distance(f, f, torch::rand({1, 3, 1, 1}));
             }),
             Catch::Contains("weight must be 1-D [C] = [3]"));
  CHECK_THAT(error_of([&] { perceptual_distance(f, f, torch::ones({3}, at::kInt)); }),
             Catch::Contains("weight must be floating point"));
  // (Called below the dispatcher: a CPU and a meta tensor would dispatch to the missing meta kernel.)
  CHECK_THAT(error_of([&] {
               loom::ops::perceptual_distance_forward_cpu(f, f, torch::rand({3}, torch::device(torch::kMeta)), 1e-10,
                                                          loom::ops::CpuCapability::kDefault);
             }),
             Catch::Contains("same device"));
  CHECK_THAT(error_of([&] { perceptual_distance(f.narrow(3, 0, 0), f.narrow(3, 0, 0), w); }),
             Catch::Contains("H x W must not be empty"));
  CHECK_THAT(error_of([&] { perceptual_distance(f, f, w, -1.0); }), Catch::Contains("eps must be finite and >= 0"));
  CHECK_THAT(error_of([&] { perceptual_distance(f, f, w, std::nan("")); }),
             Catch::Contains("eps must be finite and >= 0"));
  CHECK_THAT(error_of([&] {
               loom::ops::perceptual_distance_forward_cpu(f, f, at::Tensor(), 1e-10,
                                                          loom::ops::CpuCapability::kDefault);
             }),
             Catch::Contains("must be defined"));
  CHECK_THAT(error_of([&] {
               loom::ops::perceptual_distance_backward_cpu(torch::ones({3}), f, f, w, 1e-10, {true, false, false},
                                                           loom::ops::CpuCapability::kDefault);
             }),
             Catch::Contains("grad must be 1-D [N] = [2]"));
}

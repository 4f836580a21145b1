// loom::nn::diff_augment: each policy against its definition (DiffAugment_pytorch.py's semantics),
// determinism under a seed, gradients to the images, and policy parsing.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "core/error.h"
#include "nn/diff_augment.h"

using loom::nn::diff_augment;
using loom::nn::DiffAugmentPolicy;

TEST_CASE("diff_augment translation shifts whole images by whole pixels with zero fill", "[nn][diff_augment]") {
  torch::manual_seed(3);
  const at::Tensor x = torch::rand({16, 3, 16, 16}) + 0.5;  // no zeros of its own
  const at::Tensor y = diff_augment(x, {.color = false, .translation = true, .cutout = false});
  REQUIRE(y.sizes() == x.sizes());
  for (int64_t n = 0; n < 16; ++n) {
    bool matched = false;  // some shift in [-2, 2]^2 reproduces the output exactly
    for (int64_t dy = -2; dy <= 2 && !matched; ++dy)
      for (int64_t dx = -2; dx <= 2 && !matched; ++dx) {
        at::Tensor expect = torch::zeros({3, 16, 16});
        for (int64_t i = 0; i < 16; ++i)
          for (int64_t j = 0; j < 16; ++j) {
            const int64_t si = i + dy, sj = j + dx;
            if (si >= 0 && si < 16 && sj >= 0 && sj < 16)
              expect.select(1, i).select(1, j).copy_(x[n].select(1, si).select(1, sj));
          }
        matched = torch::equal(expect, y[n]);
      }
    CHECK(matched);
  }
}

TEST_CASE("diff_augment cutout zeroes one half-side square per image", "[nn][diff_augment]") {
  torch::manual_seed(4);
  const at::Tensor x = torch::ones({32, 1, 16, 16});
  const at::Tensor y = diff_augment(x, {.color = false, .translation = false, .cutout = true});
  for (int64_t n = 0; n < 32; ++n) {
    const at::Tensor zero = (y[n][0] == 0);
    const int64_t count = zero.sum().item<int64_t>();
    CHECK(count > 0);
    CHECK(count <= 64);  // an 8x8 square, clipped at the border
    const at::Tensor rows = zero.any(1).nonzero(), cols = zero.any(0).nonzero();
    CHECK(count == rows.size(0) * cols.size(0));  // a rectangle
  }
}

TEST_CASE("diff_augment color keeps the per-image form and is deterministic under a seed", "[nn][diff_augment]") {
  const at::Tensor x = torch::rand({8, 3, 8, 8}, torch::kDouble);
  torch::manual_seed(5);
  const at::Tensor a = diff_augment(x, {.color = true, .translation = false, .cutout = false});
  torch::manual_seed(5);
  const at::Tensor b = diff_augment(x, {.color = true, .translation = false, .cutout = false});
  CHECK(torch::equal(a, b));
  // Brightness, saturation and contrast are affine per image: the output is a*x + b*gray(x) + c.
  torch::manual_seed(5);
  const at::Tensor r = torch::rand({3, 8, 1, 1, 1}, torch::kDouble);  // the three draws, in order
  at::Tensor e = x + (r[0] - 0.5);
  const at::Tensor gray = e.mean(1, true);
  e = (e - gray) * (r[1] * 2) + gray;
  const at::Tensor mean = e.mean({1, 2, 3}, true);
  e = (e - mean) * (r[2] + 0.5) + mean;
  CHECK(torch::allclose(a, e, 1e-12, 1e-12));
}

TEST_CASE("diff_augment passes gradients to the images and parses policies", "[nn][diff_augment]") {
  const at::Tensor x = torch::rand({4, 3, 8, 8}, torch::requires_grad());
  diff_augment(x, {}).sum().backward();
  REQUIRE(x.grad().defined());
  CHECK(x.grad().abs().sum().item<double>() > 0);
  const DiffAugmentPolicy p = loom::nn::parse_diff_augment_policy("translation,cutout", "recipe.diffaugment");
  CHECK((!p.color && p.translation && p.cutout));
  CHECK_THROWS_WITH(loom::nn::parse_diff_augment_policy("color,flip", "recipe.diffaugment"),
                    Catch::Contains("recipe.diffaugment") && Catch::Contains("flip"));
}

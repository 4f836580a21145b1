// nn::haar_dwt / haar_idwt: the coefficients of a known 2x2 block, band-major channels, energy kept
// (orthonormal), and both round trips.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "core/error.h"
#include "nn/haar_wavelet.h"

TEST_CASE("Haar DWT coefficients of a 2x2 block are LL, top-bottom, left-right, diagonal", "[nn][haar]") {
  // Channel 0 is a b / c d = 1 2 / 3 4; channel 1 is ten times it.
  const at::Tensor block = torch::tensor({1.0, 2.0, 3.0, 4.0}, torch::kDouble).view({1, 1, 2, 2});
  const at::Tensor x = torch::cat({block, block * 10}, 1);
  const at::Tensor y = loom::nn::haar_dwt(x);
  REQUIRE(y.sizes() == at::IntArrayRef({1, 8, 1, 1}));
  const std::vector<double> expected{5, 50, -2, -20, -1, -10, 0, 0};  // [LL c0, LL c1, H1 c0, H1 c1, …]
  for (int64_t k = 0; k < 8; ++k) CHECK(y.view({-1})[k].item<double>() == Approx(expected[k]));
}

TEST_CASE("Haar DWT keeps energy and inverts both ways", "[nn][haar]") {
  torch::manual_seed(3);
  const at::Tensor x = torch::randn({2, 3, 8, 6}, torch::kDouble);
  const at::Tensor y = loom::nn::haar_dwt(x);
  CHECK(y.sizes() == at::IntArrayRef({2, 12, 4, 3}));
  CHECK(y.square().sum().item<double>() == Approx(x.square().sum().item<double>()).epsilon(1e-12));
  CHECK((loom::nn::haar_idwt(y) - x).abs().max().item<double>() < 1e-12);
  const at::Tensor c = torch::randn({2, 12, 5, 4});
  const at::Tensor image = loom::nn::haar_idwt(c);
  CHECK(image.sizes() == at::IntArrayRef({2, 3, 10, 8}));
  CHECK((loom::nn::haar_dwt(image) - c).abs().max().item<float>() < 1e-5);
  // A constant LL band and zero high bands make a flat image of half the LL value.
  at::Tensor flat = torch::zeros({1, 4, 2, 2});
  flat.narrow(1, 0, 1).fill_(2.0);
  CHECK(torch::allclose(loom::nn::haar_idwt(flat), torch::ones({1, 1, 4, 4})));
}

TEST_CASE("Haar DWT rejects odd sides and channel counts that are not 4C", "[nn][haar]") {
  CHECK_THROWS_AS(loom::nn::haar_dwt(torch::zeros({1, 3, 5, 4})), loom::UserError);
  CHECK_THROWS_AS(loom::nn::haar_idwt(torch::zeros({1, 6, 4, 4})), loom::UserError);
}

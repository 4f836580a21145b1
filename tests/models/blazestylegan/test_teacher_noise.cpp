// The StyleGAN2 teacher's hooks for distillation: random_noise() draws what NoiseMode::random draws,
// given maps replace the noise (equal to the same maps in noise_const under the const mode),
// forward_levels() ends with forward()'s image, and wrong maps are errors naming the layer.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "core/error.h"
#include "models/stylegan2/stylegan2.h"
#include "support/small_teacher.h"

namespace {

using loom::test::small_teacher;

}  // namespace

TEST_CASE("StyleGAN2 teacher noise maps replace the layers' noise and can be read back per block",
          "[stylegan2][noise]") {
  torch::manual_seed(5);
  loom::StyleGan2 model(small_teacher());
  auto& synthesis = *model.G->synthesis;
  {
    torch::NoGradGuard no_grad;
    for (auto& p : model.G->named_parameters())
      if (p.key().ends_with("noise_strength")) p.value().fill_(0.7);
  }
  const at::Tensor ws = torch::randn({2, 8, 16});
  CHECK(synthesis.num_noise_maps() == 7);
  CHECK(loom::noise_map_index(4, 1) == 0);
  CHECK(loom::noise_map_index(8, 0) == 1);
  CHECK(loom::noise_map_index(32, 1) == 6);

  // random_noise draws what the random mode draws, in the same order.
  torch::manual_seed(11);
  const at::Tensor drawn = synthesis.forward(ws, loom::NoiseMode::random);
  torch::manual_seed(11);
  const std::vector<at::Tensor> noise = synthesis.random_noise(2, torch::kCPU);
  CHECK(noise.front().sizes() == at::IntArrayRef({2, 1, 4, 4}));
  CHECK(noise.back().sizes() == at::IntArrayRef({2, 1, 32, 32}));
  CHECK(noise.front().scalar_type() == at::kFloat);
  CHECK(torch::equal(synthesis.forward(ws, loom::NoiseMode::random, false, noise), drawn));

  // Maps given to any mode equal the same maps in noise_const under the const mode.
  std::vector<at::Tensor> single;
  for (const at::Tensor& map : noise) single.push_back(map.narrow(0, 0, 1));  // [1, 1, r, r]
  {
    torch::NoGradGuard no_grad;
    size_t k = 0;
    for (const auto& block : synthesis.blocks()) {
      if (block->conv0) block->conv0->noise_const.copy_(single[k++][0][0]);
      block->conv1->noise_const.copy_(single[k++][0][0]);
    }
  }
  const at::Tensor constant = synthesis.forward(ws, loom::NoiseMode::constant);
  CHECK(torch::allclose(synthesis.forward(ws, loom::NoiseMode::none, false, single), constant, 1e-6, 1e-6));
  CHECK_FALSE(torch::allclose(synthesis.forward(ws, loom::NoiseMode::none), constant));  // the noise matters

  // The image after every block; the last is forward()'s.
  const std::vector<at::Tensor> levels = synthesis.forward_levels(ws, loom::NoiseMode::constant);
  REQUIRE(levels.size() == 4);
  for (size_t l = 0; l < levels.size(); ++l)
    CHECK(levels[l].sizes() == at::IntArrayRef({2, 3, int64_t{4} << l, int64_t{4} << l}));
  CHECK(torch::equal(levels.back(), constant));
  CHECK(torch::equal(synthesis.forward_levels(ws, loom::NoiseMode::random, noise).back(), drawn));

  std::vector<at::Tensor> short_list(noise.begin(), noise.end() - 1);
  CHECK_THROWS_WITH(synthesis.forward(ws, loom::NoiseMode::random, false, short_list),
                    Catch::Contains("6 noise maps given, it has 7"));
  std::vector<at::Tensor> wrong = noise;
  wrong[3] = torch::randn({2, 1, 8, 8});  // b16.conv0 is 16x16
  CHECK_THROWS_AS(synthesis.forward(ws, loom::NoiseMode::random, false, wrong), loom::UserError);
  CHECK_THROWS_WITH(synthesis.forward(ws, loom::NoiseMode::random, false, wrong),
                    Catch::Contains("synthesis.b16.conv0"));
}

// The presets against the BlazeStyleGAN paper's table (synthesis parameters and mult-adds within 2 %,
// stylegan.md §5.2's convention, blazestylegan.h), pinned exactly; MobileStyleGAN's generator; the
// parameter names; and `loom info`.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <cmath>
#include <map>

#include "core/config/config_loader.h"
#include "core/registry/registries.h"
#include "models/blazestylegan/blazestylegan.h"
#include "support/test_env.h"

namespace {

std::shared_ptr<loom::BlazeStyleGan> preset(const std::string& name) {
  const auto path = loom::test::source_dir() / "configs/blazestylegan/models" / (name + ".yaml");
  const loom::ConfigNode config = loom::load_config(path.string());
  auto model = std::dynamic_pointer_cast<loom::BlazeStyleGan>(
      loom::model_registry().get("blazestylegan")(*config.find("model"), "model"));
  REQUIRE(model);
  return model;
}

int64_t count(const torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

}  // namespace

TEST_CASE("BlazeStyleGAN presets match the paper's parameters and mult-adds within 2 percent",
          "[blazestylegan][counts]") {
  struct Row {
    const char* name;
    int64_t params, macs;
    double paper_params, paper_macs;
    int64_t num_ws;
    std::vector<int64_t> sides;
  };
  for (const Row& r :
       {Row{"blaze_256", 2012755, 1286008832, 2.01e6, 1.28e9, 12, {8, 16, 32, 64, 128, 256}},
        Row{"blaze_512", 2026601, 1581451264, 2.05e6, 1.57e9, 14, {8, 16, 32, 64, 128, 256, 512}},
        Row{"blaze_1024", 2061647, 4721000448, 2.07e6, 4.70e9, 16, {8, 16, 32, 64, 128, 256, 512, 1024}}}) {
    INFO(r.name);
    const auto model = preset(r.name);
    const int64_t params = count(*model->synthesis), macs = model->synthesis->multiply_accumulates();
    CHECK(params == r.params);
    CHECK(macs == r.macs);
    CHECK(std::abs(static_cast<double>(params) - r.paper_params) / r.paper_params < 0.02);
    CHECK(std::abs(static_cast<double>(macs) - r.paper_macs) / r.paper_macs < 0.02);
    CHECK(model->synthesis->num_ws() == r.num_ws);
    CHECK(model->synthesis->level_resolutions() == r.sides);
    CHECK(count(*model->mapping) == 2101248);  // the teacher's 8 layers, on their own row
    // The model's rows add up to the mapping plus the inference count.
    int64_t rows = 0;
    for (const auto& [name, m] : model->multiply_accumulates())
      if (name.starts_with("synthesis.")) rows += m;
    CHECK(rows == macs);
    CHECK(model->synthesis->multiply_accumulates(true) > macs);  // the auxiliary heads
  }
}

TEST_CASE("MobileStyleGAN preset counts its generator as the repository builds it", "[blazestylegan][counts]") {
  const auto model = preset("mobilestylegan_1024");
  // 512·16 const + full 4x4 conv 2,622,465 + 8 heads + 14 depthwise convs; the parameter-free Haar
  // upsampler of the repository's final version (the earlier one had a 1,510,272-parameter modulation).
  CHECK(count(*model->synthesis) == 7341807);
  CHECK(model->synthesis->multiply_accumulates() == 7283138560);
  CHECK(model->synthesis->multiply_accumulates(true) == 7469162496);
  CHECK(model->synthesis->num_ws() == 23);
  CHECK(model->synthesis->named_parameters().contains("b4.conv1.weight"));     // full at 4x4
  CHECK(model->synthesis->named_parameters().contains("b8.conv1.weight_dw"));  // depthwise above
}

TEST_CASE("BlazeStyleGAN parameter names and shapes are stable", "[blazestylegan][layout]") {
  const auto model = preset("blaze_256");
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& p : model->named_parameters()) shapes[p.key()] = p.value().sizes().vec();
  for (const auto& b : model->named_buffers()) shapes[b.key()] = b.value().sizes().vec();
  using V = std::vector<int64_t>;
  auto shape = [&](const std::string& key) {
    INFO(key);
    REQUIRE(shapes.count(key));
    return shapes.at(key);
  };
  CHECK(shape("mapping.fc7.weight") == V{512, 512});
  CHECK(shape("mapping.w_avg") == V{512});
  CHECK(shape("synthesis.b4.const") == V{256, 4, 4});
  CHECK(shape("synthesis.b4.conv1.affine.weight") == V{256, 512});
  CHECK(shape("synthesis.b4.conv1.weight_dw") == V{256, 1, 3, 3});
  CHECK(shape("synthesis.b4.conv1.weight_permute") == V{256, 256, 1, 1});
  CHECK(shape("synthesis.b4.conv1.noise_strength").empty());
  CHECK(shape("synthesis.b4.conv1.noise_const") == V{4, 4});
  CHECK(shape("synthesis.b32.conv0.weight_dw") == V{64, 1, 3, 3});  // 256 / 4 channels after the IDWT
  CHECK(shape("synthesis.b32.conv0.weight_permute") == V{208, 64, 1, 1});
  CHECK(shape("synthesis.b128.up_to_rgb.weight") == V{12, 208, 1, 1});
  CHECK(shape("synthesis.b128.up_to_rgb.bias") == V{12});
  CHECK(shapes.count("synthesis.b4.conv0.weight_dw") == 0);
  CHECK(shapes.count("synthesis.b256.conv1.bias") == 0);           // the last level runs at 128
  CHECK(shapes.count("synthesis.b8.conv0.resample_filter") == 0);  // only transposed convs filter
  CHECK(torch::all(model->synthesis->levels()[1]->conv0->affine->bias == 1).item<bool>());
}

TEST_CASE("loom info prints the BlazeStyleGAN counts", "[blazestylegan][counts][cli]") {
  const auto path = loom::test::source_dir() / "configs/blazestylegan/models/blaze_256.yaml";
  const auto r = loom::test::run_loom("info " + path.string());
  INFO(r.output);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.output, Catch::Contains("2,012,755") && Catch::Contains("1,286,008,832") &&
                           Catch::Contains("2,101,248") && Catch::Contains("synthesis.b128") &&
                           Catch::Contains("num_ws: 12"));
}

// Parameter and multiply-accumulate counts (NVlabs layout, trainable parameters only; the BlazeStyleGAN
// paper's teacher row adds the constant noise maps), the state-dict names and shapes of NVlabs
// training/networks.py, and `loom info`.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>

#include "models/stylegan2/stylegan2.h"
#include "support/test_env.h"

namespace {

int64_t count(const torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

loom::StyleGan2Options config(int64_t resolution, int64_t channel_base) {
  loom::StyleGan2Options o;
  o.resolution = resolution;
  o.channel_base = channel_base;
  return o;
}

}  // namespace

TEST_CASE("StyleGAN2 parameter counts equal the NVlabs table", "[stylegan2][counts]") {
  struct Row {
    int64_t res, base, g, synthesis, mapping, d, num_ws, g_with_noise;
    double gmacs;
  };
  for (const Row& r : {Row{1024, 32768, 30370060, 28268812, 2101248, 29012513, 18, 33166236, 74.27},
                       Row{512, 32768, 30276583, 28175335, 2101248, 28982849, 16, 30975607, 59.67},
                       Row{256, 32768, 30034338, 27933090, 2101248, 28864129, 14, 30209074, 45.12},
                       Row{256, 16384, 24767458, 22666210, 2101248, 24001089, 14, -1, -1}}) {
    INFO("resolution " << r.res << ", channel_base " << r.base);
    loom::StyleGan2 model(config(r.res, r.base));
    CHECK(count(*model.G) == r.g);
    CHECK(count(*model.G->synthesis) == r.synthesis);
    CHECK(count(*model.G->mapping) == r.mapping);
    CHECK(count(*model.D) == r.d);
    CHECK(model.G->num_ws() == r.num_ws);
    if (r.g_with_noise > 0) CHECK(count(*model.G) + loom::noise_constant_elements(*model.G) == r.g_with_noise);
    if (r.gmacs > 0) {
      int64_t macs = 0;
      for (const auto& [name, m] : model.multiply_accumulates())
        if (name.starts_with("G.")) macs += m;
      const double g = static_cast<double>(macs) / 1e9;
      INFO("generator GMACs " << g);
      CHECK(std::abs(g - r.gmacs) / r.gmacs < 0.001);  // the table's two decimals
    }
  }
  // Per-block synthesis counts (§5.1).
  loom::StyleGan2 f(config(1024, 32768));
  auto block = [&](const char* name) { return count(*f.G->synthesis->named_children()[name]); };
  CHECK(block("b4") == 2894852);
  CHECK(block("b64") == 5509125);
  CHECK(block("b128") == 2296069);
  CHECK(block("b1024") == 93477);
}

TEST_CASE("StyleGAN2 state-dict names and shapes are NVlabs'", "[stylegan2][layout]") {
  loom::StyleGan2 model(config(64, 32768));
  std::map<std::string, at::Tensor> g, d;
  for (const auto& p : model.G->named_parameters()) g[p.key()] = p.value();
  for (const auto& b : model.G->named_buffers()) g[b.key()] = b.value();
  for (const auto& p : model.D->named_parameters()) d[p.key()] = p.value();
  for (const auto& b : model.D->named_buffers()) d[b.key()] = b.value();
  auto shape = [](const std::map<std::string, at::Tensor>& m, const std::string& key) {
    INFO(key);
    REQUIRE(m.count(key));
    return m.at(key).sizes().vec();
  };
  using V = std::vector<int64_t>;
  CHECK(shape(g, "mapping.fc0.weight") == V{512, 512});
  CHECK(shape(g, "mapping.fc7.bias") == V{512});
  CHECK(shape(g, "mapping.w_avg") == V{512});
  CHECK(shape(g, "synthesis.b4.const") == V{512, 4, 4});
  CHECK(shape(g, "synthesis.b4.conv1.weight") == V{512, 512, 3, 3});
  CHECK(shape(g, "synthesis.b4.conv1.noise_strength").empty());
  CHECK(shape(g, "synthesis.b4.conv1.affine.weight") == V{512, 512});
  CHECK(shape(g, "synthesis.b4.conv1.noise_const") == V{4, 4});
  CHECK(shape(g, "synthesis.b4.conv1.resample_filter") == V{4, 4});
  CHECK(shape(g, "synthesis.b4.resample_filter") == V{4, 4});
  CHECK(shape(g, "synthesis.b4.torgb.weight") == V{3, 512, 1, 1});
  CHECK(shape(g, "synthesis.b64.conv0.noise_const") == V{64, 64});
  CHECK(shape(g, "synthesis.b64.torgb.affine.bias") == V{512});
  CHECK(g.count("synthesis.b4.conv0.weight") == 0);
  CHECK(shape(d, "b64.fromrgb.weight") == V{512, 3, 1, 1});
  CHECK(shape(d, "b64.skip.weight") == V{512, 512, 1, 1});
  CHECK(d.count("b64.skip.bias") == 0);
  CHECK(d.count("b32.fromrgb.weight") == 0);
  CHECK(shape(d, "b4.conv.weight") == V{512, 513, 3, 3});
  CHECK(shape(d, "b4.fc.weight") == V{512, 512 * 16});
  CHECK(shape(d, "b4.out.weight") == V{1, 512});
  // Affine biases start at 1 (styles around 1), noise strengths at 0.
  CHECK(torch::all(g.at("synthesis.b8.conv0.affine.bias") == 1).item<bool>());
  CHECK(g.at("synthesis.b8.conv0.noise_strength").item<double>() == 0.0);
}

TEST_CASE("Freeze-D turns the first layers' weights into buffers under the same names", "[stylegan2][layout]") {
  auto o = config(32, 2048);
  o.freeze_d_layers = 5;  // b32: fromrgb, conv0, conv1, skip; b16: conv0
  loom::StyleGan2 frozen(o), full(config(32, 2048));
  std::set<std::string> trainable;
  for (const auto& p : frozen.D->named_parameters()) trainable.insert(p.key());
  CHECK(trainable.count("b32.fromrgb.weight") == 0);
  CHECK(trainable.count("b16.conv0.weight") == 0);
  CHECK(trainable.count("b16.conv1.weight") == 1);
  CHECK(frozen.D->named_buffers().contains("b32.conv0.weight"));
  CHECK(frozen.D->named_parameters().size() + 9 == full.D->named_parameters().size());  // 5 weights + 4 biases
}

TEST_CASE("loom info prints the StyleGAN2 counts", "[stylegan2][counts][cli]") {
  const auto dir = loom::test::scratch("stylegan2_info");
  std::ofstream(dir / "g.yaml") << "model:\n  name: stylegan2\n  resolution: 1024\n";
  const auto r = loom::test::run_loom("info " + (dir / "g.yaml").string());
  INFO(r.output);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.output, Catch::Contains("30,370,060") && Catch::Contains("28,268,812") && Catch::Contains("2,101,248") &&
                           Catch::Contains("29,012,513") && Catch::Contains("74,266,894,336") &&
                           Catch::Contains("33,166,236") && Catch::Contains("num_ws: 18"));
}

// The MobileNetV2 inversion encoder: backbone parity with torchvision's mobilenet_v2 at every stage
// (tests/python/mobilenet_v2_reference.py), the 256 preset against MediaPipe's 1.44 M / 0.60 G, the codes'
// shape, pSp and e4e modes, gradients to every head parameter, and the option errors.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <cmath>

#include "core/config/config_error.h"
#include "core/config/config_loader.h"
#include "core/error.h"
#include "core/io/weights.h"
#include "core/registry/registries.h"
#include "models/encoder/mobilenet_v2_encoder.h"
#include "support/test_env.h"

namespace {

using loom::MobileNetV2Encoder;

std::shared_ptr<MobileNetV2Encoder> from_yaml(const std::string& body) {
  const loom::ConfigNode config = loom::parse_yaml("model:\n" + body, "encoder.yaml");
  auto model = std::dynamic_pointer_cast<MobileNetV2Encoder>(
      loom::model_registry().get("mobilenet_v2_encoder")(*config.find("model"), "model"));
  REQUIRE(model);
  return model;
}

const std::string kSmall =
    "  name: mobilenet_v2_encoder\n  resolution: 64\n  w_dim: 16\n  width_mult: 0.25\n  head_channels: 8\n";

const std::filesystem::path& reference_dir() {
  static const std::filesystem::path dir = [] {
    const auto d = loom::test::scratch("mobilenet_v2_reference");
    REQUIRE(loom::test::run_python("mobilenet_v2_reference.py", d.string()) == 0);
    return d;
  }();
  return dir;
}

std::map<std::string, at::Tensor> read_map(const std::filesystem::path& path) {
  std::map<std::string, at::Tensor> out;
  for (auto& [name, t] : loom::weights::read(path.string())) out[name] = t;
  return out;
}

int64_t count(const torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

}  // namespace

TEST_CASE("MobileNetV2 backbone matches torchvision's mobilenet_v2 at every stage in eval mode", "[encoder][parity]") {
  for (const std::string width : {"1.0", "0.35"}) {
    INFO("width_mult " << width);
    const auto dir = reference_dir();
    const auto file = dir / ("mobilenet_v2_w" + width + ".safetensors");
    const auto state = loom::weights::read(file.string());
    const auto ref = read_map(dir / ("mobilenet_v2_w" + width + "_taps.safetensors"));
    for (int64_t stages : {7, 3}) {
      INFO("stages " << stages);
      loom::MobileNetV2 backbone(std::stod(width), stages);
      const auto report = backbone->load_torchvision(state, file.string());
      // Every tensor of the kept features came from the file (load_into is strict about the rest).
      CHECK(report.loaded == loom::weights::state_dict(*backbone).size());
      backbone->eval();
      torch::NoGradGuard no_grad;
      std::vector<int64_t> taps;
      for (int64_t s = 0; s <= stages; ++s) taps.push_back(s);
      const auto out = backbone->forward(ref.at("x"), taps);
      REQUIRE(out.size() == taps.size());
      for (int64_t s = 0; s <= stages; ++s) {
        INFO("stage " << s);
        const at::Tensor& expected = ref.at("stage" + std::to_string(s));
        REQUIRE(out[s].sizes() == expected.sizes());
        CHECK((out[s] - expected).abs().max().item<double>() < 1e-5);
        CHECK(backbone->stage_channels(s) == expected.size(1));
        CHECK(backbone->stage_side(s, 64) == expected.size(2));
      }
    }
  }
  // The torch.save copy through the model's option, and a width that does not fit the file.
  const auto pth = (reference_dir() / "mobilenet_v2_w1.0.pth").string();
  const auto model = from_yaml("  name: mobilenet_v2_encoder\n  backbone_weights: " + pth + "\n");
  CHECK(model->pretrained_backbone());
  CHECK(model->info_notes().back().find("torchvision weights from") != std::string::npos);
  CHECK_THROWS_AS(from_yaml("  name: mobilenet_v2_encoder\n  width_mult: 0.5\n  backbone_weights: " + pth + "\n"),
                  loom::UserError);
}

TEST_CASE("MobileNetV2 encoder preset is within 3 percent of MediaPipe's 1.44 M parameters and 0.60 G mult-adds",
          "[encoder][counts]") {
  const auto path = loom::test::source_dir() / "configs/encoder/models/mobilenet_v2_encoder_256.yaml";
  const loom::ConfigNode config = loom::load_config(path.string());
  auto model = std::dynamic_pointer_cast<MobileNetV2Encoder>(
      loom::model_registry().get("mobilenet_v2_encoder")(*config.find("model"), "model"));
  REQUIRE(model);
  const int64_t params = count(*model);
  int64_t macs = 0;
  for (const auto& [name, m] : model->multiply_accumulates()) macs += m;
  CHECK(std::abs(static_cast<double>(params) / 1.44e6 - 1) < 0.03);
  CHECK(std::abs(static_cast<double>(macs) / 0.60e9 - 1) < 0.03);
  CHECK(params == 1453596);
  CHECK(macs == 600341488);
  CHECK(model->options().num_ws == 12);
  CHECK(model->options().w_dim == 512);
  CHECK_FALSE(model->pretrained_backbone());
  CHECK(model->info_notes().back().find("runs without pretrained weights") != std::string::npos);
  // torchvision's names for the backbone.
  const auto names = model->named_parameters();
  for (const char* name : {"backbone.features.0.0.weight", "backbone.features.1.conv.0.0.weight",
                           "backbone.features.2.conv.3.weight", "backbone.features.6.conv.2.weight",
                           "head.latlayer1.weight", "head.coarse.0.convs.0.weight", "head.fine.4.linear.weight"})
    CHECK(names.contains(name));
  CHECK(model->named_buffers().contains("backbone.features.0.1.running_mean"));
}

TEST_CASE("MobileNetV2 encoder codes, e4e stages and gradients to every head parameter", "[encoder][forward]") {
  torch::manual_seed(0);
  auto psp = from_yaml(kSmall);
  auto e4e = from_yaml(kSmall + "  progressive: true\n");
  loom::weights::load_into(*e4e, loom::weights::state_dict(*psp));
  const at::Tensor images = torch::rand({2, 3, 64, 64}) * 2 - 1;

  const at::Tensor codes = psp->forward(images);
  REQUIRE(codes.sizes() == std::vector<int64_t>{2, 12, 16});
  CHECK(psp->forward(images, 3).equal(codes));  // pSp ignores the stage
  const at::Tensor w0 = codes.select(1, 0);
  for (int64_t stage : {0, 1, 5, 11}) {
    INFO("stage " << stage);
    const at::Tensor w = e4e->forward(images, stage);
    REQUIRE(w.sizes() == codes.sizes());
    CHECK(torch::allclose(w.select(1, 0), w0));
    for (int64_t i = 1; i < 12; ++i) {
      INFO("row " << i);
      if (i > stage)
        CHECK(w.select(1, i).equal(w.select(1, 0)));
      else
        CHECK(torch::allclose(w.select(1, i), w0 + codes.select(1, i), 1e-5, 1e-6));
    }
  }
  CHECK(e4e->forward(images, -1).equal(e4e->forward(images, 11)));
  CHECK(e4e->forward(images, 40).equal(e4e->forward(images, 11)));

  const at::Tensor probe = torch::randn_like(codes);
  (psp->forward(images) * probe).sum().backward();
  for (const auto& p : psp->named_parameters()) {
    INFO(p.key());
    REQUIRE(p.value().grad().defined());
    CHECK(p.value().grad().abs().sum().item<double>() > 0);
  }

  // Fewer ws than the coarse and middle levels hold: the unused FPN level is not built.
  auto three = from_yaml(kSmall + "  num_ws: 3\n");
  CHECK(three->forward(images).sizes() == std::vector<int64_t>{2, 3, 16});
  CHECK_FALSE(three->named_parameters().contains("head.latlayer1.weight"));
  CHECK(three->multiply_accumulates().size() == 2);  // backbone, coarse
}

TEST_CASE("MobileNetV2 encoder options errors name the key", "[encoder][errors]") {
  CHECK_THROWS_AS(from_yaml(kSmall + "  num_ws: 0\n"), loom::ConfigError);
  CHECK_THROWS_WITH(from_yaml(kSmall + "  num_ws: 0\n"), Catch::Contains("model.num_ws"));
  CHECK_THROWS_WITH(from_yaml("  name: mobilenet_v2_encoder\n  resolution: 96\n"),
                    Catch::Contains("model.resolution") && Catch::Contains("power of two"));
  CHECK_THROWS_WITH(from_yaml(kSmall + "  tap_stages: [2, 1]\n"), Catch::Contains("model.tap_stages"));
  CHECK_THROWS_WITH(from_yaml(kSmall + "  stages: 3\n  tap_stages: [1, 3]\n"),
                    Catch::Contains("model.tap_stages") && Catch::Contains("below stages (3)"));
  CHECK_THROWS_WITH(from_yaml(kSmall + "  stages: 8\n"), Catch::Contains("model.stages"));
  CHECK_THROWS_WITH(from_yaml(kSmall + "  head_chanels: 8\n"), Catch::Contains("head_chanels"));
  CHECK_THROWS_WITH(from_yaml(kSmall + "  backbone_weights: /nonexistent/mobilenet_v2.pth\n"),
                    Catch::Contains("/nonexistent/mobilenet_v2.pth"));
  auto model = from_yaml(kSmall);
  CHECK_THROWS_WITH(model->forward(torch::zeros({1, 3, 32, 32})),
                    Catch::Contains("[N, 3, 64, 64]") && Catch::Contains("model.resolution"));
  // The recipe tests' encoder builds.
  CHECK(from_yaml("  name: mobilenet_v2_encoder\n  resolution: 64\n  num_ws: 8\n  w_dim: 16\n  width_mult: 0.25\n")
            ->forward(torch::zeros({1, 3, 64, 64}))
            .sizes() == std::vector<int64_t>{1, 8, 16});
}

// The perceptual loss module without reference packages: settings that do not fit, backbone files, the
// random backbone's initialisation, frozen state and the cheap target path, max_size and the multi-scale
// wrapper.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <string>

#include "core/config/config_error.h"
#include "core/error.h"
#include "core/io/weights.h"
#include "losses/perceptual/perceptual_loss.h"
#include "support/test_env.h"

namespace {

using Catch::Contains;
using loom::PerceptualLoss;
using loom::PerceptualLossOptions;

loom::weights::NamedTensors params_of(const PerceptualLoss& loss) { return loom::weights::state_dict(*loss); }

}  // namespace

TEST_CASE("perceptual loss settings that do not fit are config errors naming the key", "[losses][perceptual]") {
  const auto build = [](PerceptualLossOptions o) { return PerceptualLoss(o, "recipe.perceptual"); };
  CHECK_THROWS_AS(build({.kind = "vgg_l1", .taps = {"relu1_2", "relu33"}}), loom::ConfigError);
  CHECK_THROWS_WITH(build({.kind = "vgg_l1", .taps = {"relu1_2", "relu33"}}),
                    Contains("recipe.perceptual.taps[1]") && Contains("'relu33'") && Contains("VGG16") &&
                        Contains("did you mean 'relu3_3'"));
  CHECK_THROWS_WITH(build({.kind = "vgg_style", .taps = {"1", "99"}}),
                    Contains("recipe.perceptual.taps[1]") && Contains("'99'"));
  CHECK_THROWS_WITH(build({.kind = "vgg_l1", .taps = {"relu2_2", "relu1_2"}}),
                    Contains("taps[1]") && Contains("network order"));
  CHECK_THROWS_WITH(build({.kind = "vgg_l1", .layer_weights = {1.0, 2.0}}),
                    Contains("recipe.perceptual.layer_weights") && Contains("2 weights for 4 taps"));
  CHECK_THROWS_WITH(build({.kind = "vgg_style", .taps = {"relu1_1", "relu2_1"}}),
                    Contains("layer_weights") && Contains("one per tap"));
  CHECK_THROWS_WITH(build({.kind = "vgg_l1", .spatial = true}), Contains("recipe.perceptual.spatial"));
  CHECK_THROWS_WITH(build({.kind = "vgg_l1", .head_weights = "heads.safetensors"}),
                    Contains("recipe.perceptual.head_weights"));
  CHECK_THROWS_WITH(build({.kind = "vgg_l1", .net = "alex", .taps = {"relu1_2"}}),
                    Contains("AlexNet") && Contains("did you mean 'relu1'"));
  // Taps by index and by name are the same layers.
  CHECK(params_of(build({.kind = "vgg_l1", .taps = {"3", "8", "15", "22"}})).size() ==
        params_of(build({.kind = "vgg_l1"})).size());
}

TEST_CASE("perceptual backbone files load by torchvision names and bad ones name the key", "[losses][perceptual]") {
  const auto dir = loom::test::scratch("perceptual_backbone_files");
  // A torchvision-style file: features.{i} of a seeded VGG16, one layer past the taps and a classifier entry.
  PerceptualLoss source(
      PerceptualLossOptions{
          .kind = "vgg_l1", .taps = {"relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_1"}, .seed = 9},
      "source");
  loom::weights::NamedTensors file;
  for (const auto& [name, tensor] : params_of(source)) {
    const std::string rest = name.substr(name.find('.', 4) + 1);  // net.slice{k}.{i}.weight -> {i}.weight
    file.emplace_back("features." + rest, tensor);
  }
  file.emplace_back("classifier.6.bias", torch::zeros({1000}));
  const std::string path = (dir / "vgg16_features.safetensors").string();
  loom::weights::write(path, file);
  PerceptualLoss loaded(PerceptualLossOptions{.kind = "vgg_l1", .backbone_weights = path}, "p");
  CHECK(loaded->metric_name() == "vgg_l1");
  CHECK_FALSE(loaded->random_backbone());
  for (const auto& [name, tensor] : params_of(loaded)) {
    const auto it = std::find_if(file.begin(), file.end(), [&](const auto& e) {
      return e.first == "features." + name.substr(name.find('.', 4) + 1);
    });
    REQUIRE(it != file.end());
    CHECK(torch::equal(tensor, it->second));
  }
  // A VGG16 file is not a VGG19 one: VGG19's relu5_1 (index 29) is past what VGG16 holds at those indices.
  CHECK_THROWS_WITH(
      PerceptualLoss(PerceptualLossOptions{.kind = "vgg_style", .backbone_weights = path}, "recipe.style"),
      Contains("recipe.style.backbone_weights") && Contains(path) && Contains("VGG19"));
  const std::string legacy = (dir / "vgg16-397923af.pth").string();
  std::ofstream(legacy, std::ios::binary) << std::string("\x80\x02\x8a\x0a", 4) << "legacy pickle";
  CHECK_THROWS_WITH(
      PerceptualLoss(PerceptualLossOptions{.kind = "vgg_l1", .backbone_weights = legacy}, "recipe.l1"),
      Contains("recipe.l1.backbone_weights") && Contains("legacy") && Contains("convert_lpips.py backbone"));
}

TEST_CASE("the random perceptual backbone follows torchvision's initialisation from its seed", "[losses][perceptual]") {
  const auto weights_of = [](const std::string& net, uint64_t seed) {
    return params_of(PerceptualLoss(PerceptualLossOptions{.kind = "vgg_l1", .net = net, .seed = seed}, "p"));
  };
  const auto a = weights_of("vgg16", 1), b = weights_of("vgg16", 1), c = weights_of("vgg16", 2);
  for (size_t i = 0; i < a.size(); ++i) CHECK(torch::equal(a[i].second, b[i].second));
  CHECK_FALSE(torch::equal(a[0].second, c[0].second));
  for (const auto& [name, t] : a) {
    INFO(name);
    if (t.dim() == 1) {
      CHECK(t.abs().max().item<double>() == 0.0);  // VGG: bias 0
    } else {                                       // kaiming_normal fan_out, relu: std sqrt(2 / (out k k))
      const double want = std::sqrt(2.0 / static_cast<double>(t.size(0) * 9));
      CHECK(std::abs(t.std().item<double>() / want - 1.0) < 0.05);
    }
  }
  for (const auto& [name, t] : weights_of("alex", 1)) {  // nn.Conv2d defaults: uniform within 1 / sqrt(fan_in)
    INFO(name);
    const auto& w = t;
    const int64_t fan_in = w.dim() == 4 ? w.size(1) * w.size(2) * w.size(3) : 0;
    if (fan_in == 0) continue;
    const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
    CHECK(w.abs().max().item<double>() <= bound);
    CHECK(std::abs(w.std().item<double>() / (bound / std::sqrt(3.0)) - 1.0) < 0.05);
  }
}

TEST_CASE("perceptual losses are frozen and a target without grad takes the cheap path", "[losses][perceptual]") {
  torch::manual_seed(4);
  PerceptualLoss loss(PerceptualLossOptions{.kind = "vgg_style"}, "p");
  CHECK_FALSE(loss->is_training());
  for (const auto& p : loss->parameters()) CHECK_FALSE(p.requires_grad());
  CHECK(loss->metric_name() == "vgg_style_random_backbone");
  const at::Tensor x = torch::rand({2, 3, 40, 32}) * 2 - 1, t = torch::rand({2, 3, 40, 32}) * 2 - 1;
  const at::Tensor a = x.clone().requires_grad_(true), b = t.clone().requires_grad_(true);
  const at::Tensor cheap = loss->forward(a, t);
  REQUIRE(cheap.sizes() == at::IntArrayRef{2});
  const at::Tensor full = loss->forward(a, b);
  CHECK(torch::allclose(cheap, full));
  const at::Tensor g_cheap = torch::autograd::grad({cheap.sum()}, {a})[0];
  const at::Tensor g_full = torch::autograd::grad({full.sum()}, {a})[0];
  CHECK(torch::allclose(g_cheap, g_full, 1e-5, 1e-8));
  for (const auto& p : loss->parameters()) CHECK_FALSE(p.grad().defined());
}

TEST_CASE("perceptual target features computed once give the per-call values and gradients", "[losses][perceptual]") {
  torch::manual_seed(6);
  for (const std::string kind : {"vgg_style", "lpips"}) {
    PerceptualLossOptions options{.kind = kind, .lpips = false};
    PerceptualLoss loss(options, "p");
    const at::Tensor styles = torch::rand({3, 3, 48, 40}) * 2 - 1;
    const at::Tensor k = torch::tensor({2, 0, 2, 1}, torch::kLong);
    const std::vector<at::Tensor> cached = loss->target_features(styles);
    std::vector<at::Tensor> selected;
    for (const at::Tensor& f : cached) selected.push_back(f.index_select(0, k));
    const at::Tensor x = (torch::rand({4, 3, 48, 40}) * 2 - 1).requires_grad_(true);
    const at::Tensor per_call = loss->forward(x, styles.index_select(0, k));
    const at::Tensor once = loss->forward(x, selected);
    CHECK(torch::allclose(once, per_call, 1e-5, 1e-7));
    const at::Tensor g_once = torch::autograd::grad({once.sum()}, {x})[0];
    const at::Tensor g_call = torch::autograd::grad({per_call.sum()}, {x})[0];
    CHECK(torch::allclose(g_once, g_call, 1e-5, 1e-8));
    selected.pop_back();
    CHECK_THROWS_WITH(loss->forward(x, selected), Contains("target features"));
  }
}

TEST_CASE("perceptual max_size shrinks inputs and the multi-scale loss resizes the target per level",
          "[losses][perceptual]") {
  torch::manual_seed(5);
  PerceptualLoss capped(PerceptualLossOptions{.kind = "vgg_l1", .max_size = 64}, "p");
  PerceptualLoss uncapped(PerceptualLossOptions{.kind = "vgg_l1", .max_size = 0}, "p");
  const auto shrink = [](const at::Tensor& v, int64_t h, int64_t w) {
    return at::upsample_bilinear2d(v, {h, w}, /*align_corners=*/false);
  };
  const at::Tensor x = torch::rand({2, 3, 96, 72}) * 2 - 1, t = torch::rand({2, 3, 96, 72}) * 2 - 1;
  // The longer side goes to 64, the aspect is kept: 96 x 72 -> 64 x 48.
  CHECK(torch::allclose(capped->forward(x, t), uncapped->forward(shrink(x, 64, 48), shrink(t, 64, 48))));
  const at::Tensor small = torch::rand({2, 3, 32, 32});
  CHECK(torch::equal(capped->forward(small, -small), uncapped->forward(small, -small)));
  // Below the size the last tap needs, a clear error rather than an empty feature map.
  CHECK(capped->min_input_size() == 8);  // relu4_3 after three pools
  CHECK(PerceptualLoss(PerceptualLossOptions{.kind = "vgg_style"}, "p")->min_input_size() == 16);
  CHECK(PerceptualLoss(PerceptualLossOptions{.kind = "vgg_l1", .net = "alex"}, "p")->min_input_size() == 31);
  const at::Tensor tiny = torch::rand({1, 3, 7, 12});
  CHECK_THROWS_WITH(capped->forward(tiny, tiny), Contains("at least 8 px") && Contains("7x12"));

  const at::Tensor target = torch::rand({2, 3, 64, 64}) * 2 - 1;
  const std::vector<at::Tensor> levels{torch::rand({2, 3, 16, 16}), torch::rand({2, 3, 32, 32}), target * 0.5};
  const std::vector<at::Tensor> per_level = loom::multiscale_perceptual(*capped, levels, target);
  REQUIRE(per_level.size() == 3);
  for (size_t i = 0; i < levels.size(); ++i) {
    const int64_t side = levels[i].size(2);
    CHECK(torch::allclose(per_level[i], capped->forward(levels[i], shrink(target, side, side))));
  }
}

// LPIPS against the lpips package 0.1.4 (tests/python/lpips_reference.py: lpips.LPIPS(pnet_rand=True) at
// two seeds, its state dict loaded as is): totals, per-layer values, spatial maps and input gradients;
// a float64 central-difference check of the input gradients; head files that do not fit; names.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "core/config/config_error.h"
#include "core/error.h"
#include "core/io/weights.h"
#include "core/text/cat.h"
#include "losses/perceptual/perceptual_loss.h"
#include "support/gradient_check.h"
#include "support/test_env.h"

namespace {

using Catch::Contains;
using loom::test::relative_error;

// Random non-negative heads (the package clamps its heads at 0) for LPIPS-`net` under lin{k}.model.{conv}.
loom::weights::NamedTensors random_heads(const std::string& net, int conv = 1) {
  const auto arch = net == "vgg" ? loom::perceptual::BackboneArch::vgg16 : loom::perceptual::BackboneArch::alexnet;
  loom::weights::NamedTensors heads;
  const std::vector<int64_t> taps = loom::perceptual::lpips_taps(arch);
  for (size_t k = 0; k < taps.size(); ++k)
    heads.emplace_back(loom::cat("lin", k, ".model.", conv, ".weight"),
                       torch::rand({1, loom::perceptual::tap_channels(arch, taps[k]), 1, 1}));
  return heads;
}

// Checks every reference tensor of one (seed, size) prefix; returns the worst relative error.
double check_against_package(loom::PerceptualLossImpl& loss, loom::PerceptualLossImpl& spatial,
                             const std::map<std::string, at::Tensor>& ref, const std::string& p) {
  double worst = 0.0;
  const auto check = [&](const std::string& name, const at::Tensor& got) {
    const at::Tensor& want = ref.at(p + name);
    REQUIRE(got.sizes() == want.sizes());
    const double err = relative_error(got, want);
    INFO(p << name << " relative error " << err);
    CHECK(err <= 1e-5);
    worst = std::max(worst, err);
  };
  const at::Tensor x0 = ref.at(p + "x0"), x1 = ref.at(p + "x1");
  // forward() is the sum of per_layer(), so one pass checks both.
  at::Tensor a = x0.clone().requires_grad_(true);
  const std::vector<at::Tensor> layers = loss.per_layer(a, x1);
  REQUIRE(layers.size() == 5);
  for (size_t k = 0; k < layers.size(); ++k) check(loom::cat("layer", k), layers[k]);
  const at::Tensor total = layers[0] + layers[1] + layers[2] + layers[3] + layers[4];
  check("total", total);
  check("grad_x0", torch::autograd::grad({total.sum()}, {a})[0]);

  a = x0.clone().requires_grad_(true);
  at::Tensor b = x1.clone().requires_grad_(true);
  const auto both = torch::autograd::grad({loss.forward(a, b).sum()}, {a, b});
  check("grad_x0", both[0]);
  check("grad_x1", both[1]);

  a = x0.clone().requires_grad_(true);
  const std::vector<at::Tensor> maps = spatial.per_layer(a, x1);
  for (size_t k = 0; k < maps.size(); ++k) check(loom::cat("spatial_layer", k), maps[k]);
  const at::Tensor map = maps[0] + maps[1] + maps[2] + maps[3] + maps[4];
  check("spatial_total", map);
  check("spatial_grad_x0", torch::autograd::grad({map.sum()}, {a})[0]);
  return worst;
}

void check_lpips_parity(const std::string& net, int seed) {
  const auto dir = loom::test::scratch(loom::cat("lpips_parity_", net, "_", seed));
  REQUIRE(loom::test::run_python("lpips_reference.py", loom::cat("lpips ", net, " ", seed, " ", dir.string())) == 0);
  const auto ref = loom::test::read_reference((dir / "reference.safetensors").string());
  const std::string state = (dir / "state.safetensors").string();
  // The whole lpips state dict serves as both files (the scaling buffers are the module's own). It also
  // loads strictly into a spare module, so every name the package has exists here and nothing else does.
  loom::PerceptualLossOptions options{.kind = "lpips", .net = net, .backbone_weights = state, .head_weights = state};
  loom::PerceptualLoss loss(options, "perceptual");
  CHECK(loss->metric_name() == "lpips_" + net);
  CHECK(loom::weights::load_file(*loom::PerceptualLoss(options, "perceptual"), state).ok());
  options.spatial = true;
  loom::PerceptualLoss spatial(options, "perceptual");
  double worst = 0.0;
  for (const char* size : {"64x64", "64x48"})
    worst = std::max(worst, check_against_package(*loss, *spatial, ref, loom::cat(size, ".")));
  WARN("LPIPS-" << net << " seed " << seed << ": worst relative error vs lpips 0.1.4 (values, maps, gradients) "
                << worst);
}

}  // namespace

// Seeds 0 and 1 of each backbone are separate cases, so each stays well within a test's time.
TEST_CASE("lpips vgg matches the lpips package per layer and spatially with input gradients at seed 0",
          "[losses][perceptual][lpips]") {
  check_lpips_parity("vgg", 0);
}

TEST_CASE("lpips vgg matches the lpips package per layer and spatially with input gradients at seed 1",
          "[losses][perceptual][lpips]") {
  check_lpips_parity("vgg", 1);
}

TEST_CASE("lpips alex matches the lpips package per layer and spatially with input gradients at seed 0",
          "[losses][perceptual][lpips]") {
  check_lpips_parity("alex", 0);
}

TEST_CASE("lpips alex matches the lpips package per layer and spatially with input gradients at seed 1",
          "[losses][perceptual][lpips]") {
  check_lpips_parity("alex", 1);
}

TEST_CASE("lpips input gradients agree with central differences in float64", "[losses][perceptual][lpips]") {
  const auto dir = loom::test::scratch("lpips_gradient_check");
  torch::manual_seed(11);
  const auto f64 = at::TensorOptions().dtype(at::kDouble);
  for (const std::string net : {"vgg", "alex"}) {
    const std::string heads = (dir / (net + "_heads.safetensors")).string();
    loom::weights::write(heads, random_heads(net));
    loom::PerceptualLossOptions options{.kind = "lpips", .net = net, .head_weights = heads, .seed = 5};
    // VGG16 needs 16 px to reach relu5_3, AlexNet 31 px to keep its last pool; the image is varied along a
    // few random directions, so the check stays cheap while the whole input gradient is exercised.
    const int64_t side = net == "vgg" ? 20 : 31;
    const at::Tensor x0 = torch::rand({1, 3, side, side}, f64) * 2 - 1,
                     t0 = torch::rand({1, 3, side, side}, f64) * 2 - 1;
    const at::Tensor dx = torch::randn({3, 1, 3, side, side}, f64), dt = torch::randn({2, 1, 3, side, side}, f64);
    const auto along = [](const at::Tensor& base, const at::Tensor& dirs, const at::Tensor& a) {
      return base + (dirs * a.view({-1, 1, 1, 1, 1})).sum(0);
    };
    // Non-spatial with the target constant (the cheap path) and varied, and the spatial maps.
    loom::PerceptualLoss loss(options, "perceptual");
    loss->to(at::kDouble);
    const double cheap = loom::test::gradient_check_error(
        [&](const auto& v) { return loss->forward(along(x0, dx, v[0]), t0).sum(); }, {torch::zeros({3}, f64)});
    const double both = loom::test::gradient_check_error(
        [&](const auto& v) { return loss->forward(along(x0, dx, v[0]), along(t0, dt, v[1])).sum(); },
        {torch::zeros({3}, f64), torch::zeros({2}, f64)});
    options.spatial = true;
    loom::PerceptualLoss spatial(options, "perceptual");
    spatial->to(at::kDouble);
    const double maps = loom::test::gradient_check_error(
        [&](const auto& v) { return spatial->forward(along(x0, dx, v[0]), t0).sum(); }, {torch::zeros({3}, f64)});
    INFO(net << ": target constant " << cheap << ", target varied " << both << ", spatial " << maps);
    CHECK(cheap <= 1e-6);
    CHECK(both <= 1e-6);
    CHECK(maps <= 1e-6);
  }
}

TEST_CASE("lpips head files that do not fit are refused naming the key and the file", "[losses][perceptual][lpips]") {
  const auto dir = loom::test::scratch("lpips_head_files");
  const auto file = [&](const std::string& name, const loom::weights::NamedTensors& tensors) {
    const std::string path = (dir / name).string();
    loom::weights::write(path, tensors);
    return path;
  };
  const auto build = [](const std::string& net, const std::string& heads) {
    return loom::PerceptualLoss(loom::PerceptualLossOptions{.net = net, .head_weights = heads}, "recipe.perceptual");
  };
  const std::string alex = file("alex.safetensors", random_heads("alex"));
  CHECK_THROWS_WITH(build("vgg", alex), Contains("recipe.perceptual.head_weights") && Contains(alex) &&
                                            Contains("head file of LPIPS-alex") && Contains("set net: alex"));
  loom::weights::NamedTensors four = random_heads("vgg");
  four.pop_back();
  const std::string missing = file("four.safetensors", four);
  CHECK_THROWS_WITH(build("vgg", missing), Contains(missing) && Contains("lacks lin4.model.1.weight"));
  loom::weights::NamedTensors extra = random_heads("vgg");
  extra.emplace_back("lin5.model.1.weight", torch::rand({1, 512, 1, 1}));
  CHECK_THROWS_WITH(build("vgg", file("extra.safetensors", extra)), Contains("unexpected keys lin5.model.1.weight"));
  CHECK_THROWS_WITH(build("vgg", (dir / "absent.safetensors").string()),
                    Contains("recipe.perceptual.head_weights") && Contains("convert_lpips.py"));
  CHECK_THROWS_AS(build("vgg", ""), loom::ConfigError);
  CHECK_THROWS_WITH(build("vgg", ""), Contains("recipe.perceptual.head_weights") && Contains("lpips: false"));

  // The use_dropout=False key trap: the same convs under model.0 load (with a warning), not silently skipped.
  const loom::weights::NamedTensors trap = random_heads("alex", /*conv=*/0);
  loom::PerceptualLoss loaded = build("alex", file("trap.safetensors", trap));
  const auto state = loom::weights::state_dict(*loaded);
  for (size_t k = 0; k < trap.size(); ++k)
    for (const char* name : {"lin", "lins."}) {
      const auto it = std::find_if(state.begin(), state.end(),
                                   [&](const auto& e) { return e.first == loom::cat(name, k, ".model.1.weight"); });
      REQUIRE(it != state.end());
      CHECK(torch::equal(it->second, trap[k].second));
    }
}

TEST_CASE("lpips state dict names are the package's and metric names say what was compared",
          "[losses][perceptual][lpips]") {
  const auto dir = loom::test::scratch("lpips_names");
  const std::string heads = (dir / "alex.safetensors").string();
  loom::weights::write(heads, random_heads("alex"));
  loom::PerceptualLoss alex(loom::PerceptualLossOptions{.net = "alex", .head_weights = heads}, "perceptual");
  // As lpips.LPIPS(net='alex').state_dict() lists them.
  std::vector<std::string> want{"scaling_layer.shift", "scaling_layer.scale"};
  for (const auto& [k, i] : std::vector<std::pair<int, int>>{{1, 0}, {2, 3}, {3, 6}, {4, 8}, {5, 10}})
    for (const char* p : {".weight", ".bias"}) want.push_back(loom::cat("net.slice", k, ".", i, p));
  for (const char* list : {"lin", "lins."})
    for (int k = 0; k < 5; ++k) want.push_back(loom::cat(list, k, ".model.1.weight"));
  std::set<std::string> got;
  for (const auto& [name, tensor] : loom::weights::state_dict(*alex)) got.insert(name);
  CHECK(got == std::set<std::string>(want.begin(), want.end()));
  CHECK(alex->metric_name() == "lpips_alex_random_backbone");
  loom::PerceptualLoss baseline(loom::PerceptualLossOptions{.lpips = false}, "perceptual");
  CHECK(baseline->metric_name() == "lpips_baseline_vgg_random_backbone");
  CHECK(loom::weights::state_dict(*baseline).size() == 2 + 26);  // no heads
  CHECK(baseline->min_input_size() == 16);                       // relu5_3 after four pools
  CHECK(alex->min_input_size() == 31);
  CHECK_THROWS_WITH(loom::PerceptualLoss(loom::PerceptualLossOptions{.net = "vgg19", .head_weights = heads}, "p"),
                    Contains("p.net") && Contains("no LPIPS heads"));
  CHECK_THROWS_WITH(loom::PerceptualLoss(loom::PerceptualLossOptions{.head_weights = heads, .taps = {"relu1_2"}}, "p"),
                    Contains("p.taps"));
}

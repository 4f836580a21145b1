// The CLIP and SigLIP losses: values and gradients against open_clip (tests/python/
// contrastive_losses_reference.py), float64 central differences, the registry and argument errors.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <memory>
#include <set>

#include "app/register_all.h"
#include "core/config/config_loader.h"
#include "core/error.h"
#include "core/registry/registries.h"
#include "losses/clip_contrastive.h"
#include "losses/siglip.h"
#include "support/gradient_check.h"
#include "support/test_env.h"

namespace {

using loom::ContrastiveLoss;
using loom::test::gradient_check_error;
using loom::test::relative_error;

struct Variant {
  const char* name;
  std::shared_ptr<ContrastiveLoss> loss;
  bool uses_bias;
};

at::Tensor unit_rows(const at::Tensor& x) { return x / x.norm(2, -1, true); }

std::vector<Variant> variants() {
  return {{"clip", std::make_shared<loom::ClipContrastiveLoss>(loom::ClipContrastiveOptions{}), false},
          {"clip_bias", std::make_shared<loom::ClipContrastiveLoss>(loom::ClipContrastiveOptions{}), true},
          {"clip_ls", std::make_shared<loom::ClipContrastiveLoss>(loom::ClipContrastiveOptions{.label_smoothing = 0.1}),
           false},
          {"siglip", std::make_shared<loom::SigLipLoss>(), true}};
}

}  // namespace

TEST_CASE("clip and siglip losses match open_clip in value and gradient", "[losses][clip][siglip]") {
  const auto dir = loom::test::scratch("contrastive_losses");
  const std::string path = (dir / "reference.safetensors").string();
  REQUIRE(loom::test::run_python("contrastive_losses_reference.py", path) == 0);
  const auto ref = loom::test::read_reference(path);
  std::set<std::string> cases;
  for (const auto& [name, tensor] : ref) cases.insert(name.substr(0, name.find('.')));
  REQUIRE(cases.size() == 6);
  double worst_f64 = 0.0, worst_f32 = 0.0;
  for (const std::string& c : cases) {
    const bool f64 = ref.at(c + ".image").scalar_type() == at::kDouble;
    const double tol = f64 ? 1e-6 : 1e-5;
    for (const Variant& v : variants()) {
      std::vector<at::Tensor> leaves;
      for (const char* input : {".image", ".text", ".scale", ".bias"})
        leaves.push_back(ref.at(c + input).clone().requires_grad_(true));
      const at::Tensor loss = v.loss->forward(leaves[0], leaves[1], leaves[2], v.uses_bias ? leaves[3] : at::Tensor());
      const std::vector<at::Tensor> grads = torch::autograd::grad({loss}, leaves, {}, {}, false, /*allow_unused=*/true);
      const std::string prefix = c + "." + v.name + ".";
      INFO(prefix << " loss " << loss.item<double>() << " vs " << ref.at(prefix + "loss").item<double>());
      REQUIRE(loss.dim() == 0);
      REQUIRE(loss.scalar_type() == leaves[0].scalar_type());
      std::vector<std::pair<std::string, at::Tensor>> checks = {
          {"loss", loss}, {"grad_image", grads[0]}, {"grad_text", grads[1]}, {"grad_scale", grads[2]}};
      if (v.uses_bias) checks.emplace_back("grad_bias", grads[3]);
      for (const auto& [name, got] : checks) {
        // Softmax ignores a constant shift, so CLIP's bias gradient is exactly zero and both sides hold
        // only rounding noise: compare it absolutely (the loss is O(1)).
        const bool exact_zero = name == "grad_bias" && std::string(v.name) == "clip_bias";
        const double err = exact_zero ? (got - ref.at(prefix + name)).abs().item<double>()
                                      : relative_error(got, ref.at(prefix + name));
        INFO(name << " relative error " << err);
        CHECK(err <= tol);
        (f64 ? worst_f64 : worst_f32) = std::max(f64 ? worst_f64 : worst_f32, err);
      }
      if (!v.uses_bias) CHECK_FALSE(grads[3].defined());
    }
  }
  WARN("worst relative error vs open_clip: float64 " << worst_f64 << ", float32 " << worst_f32);
}

TEST_CASE("clip and siglip gradients agree with central differences in float64", "[losses][clip][siglip]") {
  torch::manual_seed(3);
  const auto f64 = at::TensorOptions().dtype(at::kDouble);
  for (int64_t batch : {1, 3, 6}) {
    const at::Tensor image = unit_rows(torch::randn({batch, 5}, f64));
    const at::Tensor text = unit_rows(torch::randn({batch, 5}, f64) + image);
    const at::Tensor scale = torch::full({}, 7.5, f64), bias = torch::full({}, -2.0, f64);
    for (const Variant& v : variants()) {
      // The features are perturbed off the unit sphere too: the losses do not assume unit rows.
      const double err =
          v.uses_bias ? gradient_check_error([&](const auto& x) { return v.loss->forward(x[0], x[1], x[2], x[3]); },
                                             {image, text, scale, bias})
                      : gradient_check_error([&](const auto& x) { return v.loss->forward(x[0], x[1], x[2]); },
                                             {image, text, scale});
      INFO(v.name << " batch " << batch << " relative error " << err);
      CHECK(err <= 1e-6);
    }
  }
}

TEST_CASE("siglip without a logit bias is a user error", "[losses][siglip]") {
  const at::Tensor f = unit_rows(torch::randn({4, 8}));
  loom::SigLipLoss loss;
  CHECK_THROWS_AS(loss.forward(f, f, torch::full({}, 10.0)), loom::UserError);
  CHECK_THROWS_WITH(loss.forward(f, f, torch::full({}, 10.0)), Catch::Contains("logit_bias"));
}

TEST_CASE("the loss registry builds clip and siglip from config", "[losses][registry]") {
  loom::register_all();
  auto clip =
      loom::loss_registry().get("clip")(loom::parse_yaml("name: clip\nlabel_smoothing: 0.1\n", "loss.yaml"), "loss");
  auto siglip = loom::loss_registry().get("siglip")(loom::parse_yaml("name: siglip\n", "loss.yaml"), "loss");
  REQUIRE(std::dynamic_pointer_cast<loom::ClipContrastiveLoss>(clip));
  REQUIRE(std::dynamic_pointer_cast<loom::SigLipLoss>(siglip));
  CHECK_THROWS_WITH(
      loom::loss_registry().get("clip")(loom::parse_yaml("name: clip\nlabel_smoothing: 1.5\n", "loss.yaml"), "loss"),
      Catch::Contains("label_smoothing"));
}

// The generator and discriminator against tests/python/stylegan2_reference.py, an independent plain-
// PyTorch implementation of NVlabs' networks.py semantics with NVlabs state-dict names: its state dict
// loads strictly without renaming, and mapping, truncation, images (const / no noise), logits,
// minibatch-std groups, the w_avg update and gradients agree — exactly in float64, to ~1e-5 in float32.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "core/io/weights.h"
#include "models/stylegan2/stylegan2.h"
#include "nn/conv2d_resample.h"
#include "nn/modulated_conv2d.h"
#include "nn/upfirdn2d.h"
#include "support/gradient_check.h"
#include "support/test_env.h"

using loom::test::relative_error;

namespace {

struct Reference {
  std::map<std::string, at::Tensor> t;
  loom::StyleGan2Options options;
};

Reference make_reference(const std::string& name, const std::string& args, int64_t c_dim, std::optional<double> clamp) {
  const auto dir = loom::test::scratch(name);
  const std::string path = (dir / "reference.safetensors").string();
  REQUIRE(loom::test::run_python("stylegan2_reference.py", path + " " + args) == 0);
  Reference r{loom::test::read_reference(path), {}};
  r.options.resolution = 32;
  r.options.channel_base = 512;
  r.options.channel_max = 64;
  r.options.z_dim = 64;
  r.options.w_dim = 64;
  r.options.mapping_layers = 2;
  r.options.c_dim = c_dim;
  r.options.conv_clamp = clamp;
  return r;
}

// Loads the reference's "G." and "D." tensors into a model of `dtype`, strictly (names as they are).
std::shared_ptr<loom::StyleGan2> load(const Reference& r, at::ScalarType dtype, int64_t mbstd_group = 4) {
  auto options = r.options;
  options.mbstd_group_size = mbstd_group;
  auto model = std::make_shared<loom::StyleGan2>(options);
  model->to(dtype);
  loom::weights::NamedTensors networks;
  for (const auto& [k, v] : r.t)
    if (k.starts_with("G.") || k.starts_with("D.")) networks.emplace_back(k, v);
  const auto report = loom::weights::load_into(*model, networks);
  REQUIRE(report.ok());
  model->eval();
  return model;
}

void compare_all(const Reference& r, at::ScalarType dtype, double tolerance) {
  auto model = load(r, dtype);
  auto& G = *model->G;
  auto& D = *model->D;
  const at::Tensor z = r.t.at("z").to(dtype);
  const at::Tensor c = r.t.count("c") ? r.t.at("c").to(dtype) : at::Tensor();
  const at::Tensor x_real = r.t.at("x_real").to(dtype);
  auto check = [&](const std::string& what, const at::Tensor& got) {
    const double err = relative_error(got, r.t.at(what));
    INFO(what << " relative error " << err);
    CHECK(got.sizes() == r.t.at(what).sizes());
    CHECK(err <= tolerance);
    return err;
  };
  torch::NoGradGuard no_grad;
  const at::Tensor ws = G.mapping->forward(z, c);
  check("ws", ws);
  check("ws_trunc", G.mapping->forward(z, c, 0.7));
  check("ws_trunc_cut", G.mapping->forward(z, c, 0.5, 4));
  const double image_err = check("img_const", G.synthesis->forward(ws, loom::NoiseMode::constant));
  check("img_none", G.synthesis->forward(ws, loom::NoiseMode::none));
  check("img_trunc", G.forward(z, c, {.truncation_psi = 0.7, .noise_mode = loom::NoiseMode::constant}));
  check("logits", D.forward(r.t.at("img_const").to(dtype), c));
  check("logits_real", D.forward(x_real, c));
  check("logits_mbstd2", load(r, dtype, 2)->D->forward(x_real, c));
  WARN("StyleGAN2 vs the NVlabs-semantics reference (" << c10::toString(dtype) << "): image relative error "
                                                       << image_err);
  {
    torch::AutoGradMode enable(true);
    auto trained = load(r, dtype);
    trained->train();
    trained->G->mapping->forward(z, c);
    check("w_avg_updated", trained->G->mapping->w_avg);
    const at::Tensor ws_leaf = r.t.at("ws").to(dtype).requires_grad_(true);
    const at::Tensor img = G.synthesis->forward(ws_leaf, loom::NoiseMode::constant);
    check("grad_ws", torch::autograd::grad({(img * r.t.at("proj").to(dtype)).sum()}, {ws_leaf})[0]);
    const at::Tensor x_leaf = x_real.clone().requires_grad_(true);
    check("grad_x", torch::autograd::grad({D.forward(x_leaf, c).sum()}, {x_leaf})[0]);
  }
}

}  // namespace

TEST_CASE("StyleGAN2 G and D match the NVlabs-semantics reference in float64", "[stylegan2][parity]") {
  compare_all(make_reference("sg2_parity64", "--dtype float64 --seed 3", 0, std::nullopt), at::kDouble, 1e-10);
}

TEST_CASE("StyleGAN2 G and D match the reference in float32 (conditional, conv clamp)", "[stylegan2][parity]") {
  // A clamp of 0.5 is hit by many activations, so its placement (after the gain, scaled by the
  // residual gain in D) is exercised; conditioning adds G's label embedding and D's projection.
  compare_all(make_reference("sg2_parity32", "--dtype float32 --seed 4 --c-dim 3 --conv-clamp 0.5", 3, 0.5), at::kFloat,
              1e-4);
}

TEST_CASE("StyleGAN2 pieces match the reference: FIR, modulated convolutions, resampling convs, minibatch std",
          "[stylegan2][parity]") {
  const Reference r = make_reference("sg2_parity_pieces", "--dtype float64 --seed 5", 0, std::nullopt);
  const at::Tensor f = loom::nn::make_resample_filter().to(at::kDouble);
  auto check = [&](const std::string& what, const at::Tensor& got) {
    INFO(what);
    CHECK(relative_error(got, r.t.at(what)) <= 1e-12);
  };
  const at::Tensor u = r.t.at("upfirdn_up_in");
  check("upfirdn_up_out", loom::nn::upsample2d(u, f));
  check("upfirdn_down_out", loom::nn::downsample2d(u, f));
  const at::Tensor x = r.t.at("modconv_x"), w = r.t.at("modconv_weight"), s = r.t.at("modconv_styles");
  check("modconv_out", loom::nn::modulated_conv2d(x, w, s, {}, 1, 1, f, true));
  check("modconv_up_out", loom::nn::modulated_conv2d(x, w, s, {}, 2, 1, f, true));
  check("modconv_nodemod_out", loom::nn::modulated_conv2d(x, w, s, {}, 1, 1, f, false));
  check("conv_down_out", loom::nn::conv2d_resample(x, w, f, 1, 2, 1));
  check("conv_skip_out", loom::nn::conv2d_resample(x, r.t.at("conv_skip_weight"), f, 1, 2, 0));
  check("mbstd_out_g2", loom::minibatch_stddev(r.t.at("mbstd_in"), 2, 1));
  check("mbstd_out_g4", loom::minibatch_stddev(r.t.at("mbstd_in"), 4, 1));
}

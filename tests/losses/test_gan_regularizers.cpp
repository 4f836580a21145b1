// The StyleGAN2 losses against hand-computed values, and the second derivatives they need (R1 through
// D, path length through G's synthesis: both differentiate a gradient) against float64 central
// differences on tiny networks.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <cmath>

#include "losses/gan_regularizers.h"
#include "models/stylegan2/stylegan2.h"
#include "support/gradient_check.h"

using loom::test::gradient_check_error;
using loom::test::relative_error;

namespace {

loom::StyleGan2Options tiny() {
  loom::StyleGan2Options o;
  o.resolution = 8, o.z_dim = 8, o.w_dim = 8, o.mapping_layers = 2, o.channel_base = 32, o.channel_max = 4;
  o.mbstd_group_size = 2;
  return o;
}

}  // namespace

TEST_CASE("logistic losses, R1 and path-length penalties equal hand-computed values", "[stylegan2][losses]") {
  const at::Tensor fake = torch::tensor({-1.0, 0.5}, torch::kDouble),
                   real = torch::tensor({2.0, -0.25}, torch::kDouble);
  auto softplus = [](double v) { return std::log1p(std::exp(v)); };
  CHECK(loom::generator_logistic_loss(fake)[0].item<double>() == Approx(softplus(1.0)));
  CHECK(loom::discriminator_logistic_loss(fake, real)[1].item<double>() == Approx(softplus(0.5) + softplus(0.25)));
  // D(x) = Σ a·x² per sample: ∇ = 2a·x, so R1 = Σ 4a²x².
  const at::Tensor x = torch::randn({3, 2, 4, 4}, torch::kDouble).requires_grad_(true);
  const double a = 0.7;
  const at::Tensor logits = (a * x.square()).sum({1, 2, 3}, false).unsqueeze(1);
  const at::Tensor r1 = loom::r1_penalty(logits, x);
  CHECK(relative_error(r1, (4 * a * a * x.detach().square()).sum({1, 2, 3})) < 1e-14);
  // images = Σ_layers ws (as [N, 1, 1, w]): ∂(Σ images·y)/∂ws[n, l] = y[n], so every length is ‖y[n]‖.
  const at::Tensor ws = torch::randn({4, 5, 6}, torch::kDouble).requires_grad_(true);
  const at::Tensor images = ws.sum(1).view({4, 1, 1, 6});
  const at::Tensor y = torch::randn({4, 1, 1, 6}, torch::kDouble);
  const at::Tensor lengths = loom::path_lengths(images, ws, y);
  CHECK(relative_error(lengths, y.view({4, 6}).norm(2, 1)) < 1e-14);
  double pl_mean = 0.5;
  const double want_mean = 0.5 + 0.01 * (lengths.mean().item<double>() - 0.5);
  const at::Tensor leaf = lengths.detach().requires_grad_(true);
  const at::Tensor penalty = loom::path_length_penalty(leaf, pl_mean, 0.01);
  CHECK(pl_mean == Approx(want_mean).epsilon(1e-14));
  CHECK(relative_error(penalty, (leaf.detach() - want_mean).square()) < 1e-14);
  // The new mean depends on the lengths (NVlabs keeps the lerp in the graph):
  // ∂/∂l_i Σ_j (l_j − a)² = 2(l_i − a) − (2·decay/N) Σ_j (l_j − a).
  const at::Tensor grad = torch::autograd::grad({penalty.sum()}, {leaf})[0];
  const at::Tensor d = leaf.detach() - want_mean;
  CHECK(relative_error(grad, 2 * d - (2 * 0.01 / 4) * d.sum()) < 1e-12);
}

TEST_CASE("R1 and path-length gradients agree with central differences (second derivatives)",
          "[stylegan2][gradcheck]") {
  torch::manual_seed(7);
  loom::StyleGan2 model(tiny());
  model.to(torch::kDouble);
  for (auto& p : model.parameters()) p.data().normal_(0, 0.5).add_(0.1);  // biases, strengths nonzero
  // R1 through D (FIR downsampling, convolutions, leaky ReLU, minibatch std).
  auto r1 = [&](const std::vector<at::Tensor>& in) {
    torch::AutoGradMode enable(true);
    at::Tensor x = in[0].requires_grad() ? in[0] : in[0].detach().requires_grad_(true);
    return loom::r1_penalty(model.D->forward(x, {}), x).sum();
  };
  const double r1_error = gradient_check_error(r1, {torch::randn({2, 3, 8, 8}, torch::kDouble)});
  INFO("R1 gradient error " << r1_error);
  CHECK(r1_error < 1e-6);
  // Path length through the synthesis network (FIR upsampling, modulated convs, ToRGB, const noise).
  const at::Tensor noise = torch::randn({2, 3, 8, 8}, torch::kDouble) / 8;
  auto pl = [&](const std::vector<at::Tensor>& in) {
    torch::AutoGradMode enable(true);
    at::Tensor ws = in[0].requires_grad() ? in[0] : in[0].detach().requires_grad_(true);
    at::Tensor img = model.G->synthesis->forward(ws, loom::NoiseMode::constant);
    return loom::path_lengths(img, ws, noise).sum();
  };
  const double pl_error = gradient_check_error(pl, {torch::randn({2, model.G->num_ws(), 8}, torch::kDouble)});
  INFO("path-length gradient error " << pl_error);
  CHECK(pl_error < 1e-6);
}

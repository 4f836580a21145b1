// FocalContrastiveLoss (the registered loss around loom::focal_contrastive_loss) with a logit bias:
// the bias shifts every logit before the focal loss, and its gradient is the sum over all pairs.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "losses/focal_contrastive.h"
#include "ops/focal_contrastive.h"
#include "support/gradient_check.h"

using loom::test::gradient_check_error;
using loom::test::relative_error;

TEST_CASE("the focal contrastive loss adds logit_bias to every logit", "[losses][focal_contrastive]") {
  torch::manual_seed(5);
  const auto f64 = at::TensorOptions().dtype(at::kDouble);
  const int64_t batch = 6;
  at::Tensor image = torch::randn({batch, 8}, f64), text = torch::randn({batch, 8}, f64);
  image = image / image.norm(2, -1, true);
  text = text / text.norm(2, -1, true);
  const at::Tensor scale = torch::full({}, 12.0, f64), bias = torch::full({}, -3.0, f64);
  loom::FocalContrastiveLoss loss(loom::FocalContrastiveOptions{.alpha = 0.25, .gamma = 2.0});

  const at::Tensor with_bias = loss.forward(image, text, scale, bias);
  const at::Tensor logits = scale * image.matmul(text.t()) + bias;
  const at::Tensor expected =
      loom::ops::focal_contrastive_loss(logits, torch::arange(batch), 0.25, 2.0, static_cast<double>(batch));
  CHECK(relative_error(with_bias, expected) <= 1e-12);
  CHECK(std::abs(with_bias.item<double>() - loss.forward(image, text, scale).item<double>()) > 1e-3);

  const double err =
      gradient_check_error([&](const std::vector<at::Tensor>& x) { return loss.forward(x[0], x[1], x[2], x[3]); },
                           {image, text, scale, bias});
  INFO("central-difference relative error " << err);
  CHECK(err <= 1e-6);
}

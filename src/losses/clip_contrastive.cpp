#include "losses/clip_contrastive.h"

#include <ATen/ATen.h>

namespace loom {

at::Tensor ClipContrastiveLoss::forward(const at::Tensor& image_features, const at::Tensor& text_features,
                                        const at::Tensor& logit_scale, const at::Tensor& logit_bias) {
  TORCH_CHECK(image_features.dim() == 2 && text_features.sizes() == image_features.sizes(),
              "clip loss: image and text features must both be [B, D], got ", image_features.sizes(), " and ",
              text_features.sizes());
  at::Tensor logits_per_image = logit_scale * at::matmul(image_features, text_features.t());
  if (logit_bias.defined()) logits_per_image = logits_per_image + logit_bias;
  // The text→image logits are the transpose (a scalar bias commutes with it), so one matmul serves both.
  const at::Tensor labels = at::arange(image_features.size(0), logits_per_image.options().dtype(at::kLong));
  const auto ce = [&](const at::Tensor& logits) {
    return at::cross_entropy_loss(logits, labels, {}, at::Reduction::Mean, /*ignore_index=*/-100,
                                  options_.label_smoothing);
  };
  return (ce(logits_per_image) + ce(logits_per_image.t())) / 2;
}

}  // namespace loom

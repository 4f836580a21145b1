#include "losses/focal_contrastive.h"

#include <ATen/ATen.h>

#include "ops/focal_contrastive.h"

namespace loom {

at::Tensor FocalContrastiveLoss::forward(const at::Tensor& image_features, const at::Tensor& text_features,
                                         const at::Tensor& logit_scale, const at::Tensor& logit_bias) {
  const int64_t batch = image_features.size(0);
  at::Tensor logits = logit_scale * at::matmul(image_features, text_features.t());
  if (logit_bias.defined()) logits = logits + logit_bias;
  at::Tensor targets = at::arange(batch, logits.options().dtype(at::kLong));
  return ops::focal_contrastive_loss(logits, targets, options_.alpha, options_.gamma, static_cast<double>(batch));
}

}  // namespace loom

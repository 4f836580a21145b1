#include "losses/siglip.h"

#include <ATen/ATen.h>

#include "core/error.h"

namespace loom {

at::Tensor SigLipLoss::forward(const at::Tensor& image_features, const at::Tensor& text_features,
                               const at::Tensor& logit_scale, const at::Tensor& logit_bias) {
  // A config mismatch (a siglip loss on a model without a bias) the user fixes, not a bug.
  if (!logit_bias.defined())
    throw UserError(
        "loss 'siglip' needs a logit_bias, but the model gives none: use a model with a learned logit bias "
        "(open_clip's --siglip initialises it at -10)");
  TORCH_CHECK(image_features.dim() == 2 && text_features.sizes() == image_features.sizes(),
              "siglip loss: image and text features must both be [B, D], got ", image_features.sizes(), " and ",
              text_features.sizes());
  const int64_t batch = image_features.size(0);
  const at::Tensor logits = logit_scale * at::matmul(image_features, text_features.t()) + logit_bias;
  const at::Tensor labels = 2 * at::eye(batch, logits.options()) - 1;
  return -at::log_sigmoid(labels * logits).sum() / batch;
}

}  // namespace loom

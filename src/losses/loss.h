#pragma once
// Bases of registered losses. A recipe asks the registry for a loss by name and uses the interface its
// training method needs (for example ContrastiveLoss for image–text pretraining).
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

namespace loom {

class Loss : public torch::nn::Module {};

// Image–text contrastive objective over a batch of paired, L2-normalised embeddings: row i of
// `image_features` matches row i of `text_features`. `logit_scale` is the (already exponentiated,
// clamped) temperature multiplier owned by the model; `logit_bias` the learned bias of sigmoid losses
// (undefined for the others). The data-parallel trainer passes globally gathered features. Returns a
// scalar.
class ContrastiveLoss : public Loss {
 public:
  virtual at::Tensor forward(const at::Tensor& image_features, const at::Tensor& text_features,
                             const at::Tensor& logit_scale, const at::Tensor& logit_bias = {}) = 0;
};

}  // namespace loom

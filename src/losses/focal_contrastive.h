#pragma once
// RO-ViT focal contrastive loss (Kim et al. 2023; fvlm/rovit/focal_contrastive_loss.py): a sigmoid focal
// loss over the B×B image–text similarity matrix with the diagonal as positives, computed by the
// loom::focal_contrastive_loss op.
// The two directions (image→text and text→image) sum the same B² terms, so the loss is their mean:
// sum / B, which keeps its scale independent of the batch size.
#include "core/config/config_schema.h"
#include "losses/loss.h"

namespace loom {

struct FocalContrastiveOptions {
  std::string name = "focal_contrastive";
  double alpha = 0.5;  // 0.5 weighs positives and negatives equally (the RO-ViT setting)
  double gamma = 1.0;

  template <class V>
  void visit(V& v) {
    v("name", name);
    v("alpha", alpha, {.help = "weight of positive pairs (negatives get 1 - alpha)", .min = 0.0, .max = 1.0});
    v("gamma", gamma, {.help = "focusing exponent", .min = 0.0});
  }
};

class FocalContrastiveLoss : public ContrastiveLoss {
 public:
  explicit FocalContrastiveLoss(const FocalContrastiveOptions& options) : options_(options) {}
  at::Tensor forward(const at::Tensor& image_features, const at::Tensor& text_features, const at::Tensor& logit_scale,
                     const at::Tensor& logit_bias = {}) override;

 private:
  FocalContrastiveOptions options_;
};

}  // namespace loom

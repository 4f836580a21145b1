#pragma once
// CLIP InfoNCE loss (Radford et al. 2021; open_clip src/open_clip/loss.py ClipLoss): logits = scale · img·txtᵀ
// (+ bias when one is given, as open_clip allows), and the mean of the image→text and text→image
// cross-entropies with row i matching column i.
//
// The loss sees whatever rows it is given: passed globally gathered features it is open_clip's global
// loss (labels arange(N_global)). open_clip's --local-loss variant (local rows against global columns,
// labels offset by rank) would be a separate (local, global) overload; it does not exist yet.
#include "core/config/config_schema.h"
#include "losses/loss.h"

namespace loom {

struct ClipContrastiveOptions {
  std::string name = "clip";
  double label_smoothing = 0.0;  // 0 is open_clip's ClipLoss

  template <class V>
  void visit(V& v) {
    v("name", name);
    v("label_smoothing", label_smoothing,
      {.help = "cross-entropy label smoothing (F.cross_entropy semantics)", .min = 0.0, .max = 1.0});
  }
};

class ClipContrastiveLoss : public ContrastiveLoss {
 public:
  explicit ClipContrastiveLoss(const ClipContrastiveOptions& options) : options_(options) {}
  at::Tensor forward(const at::Tensor& image_features, const at::Tensor& text_features, const at::Tensor& logit_scale,
                     const at::Tensor& logit_bias = {}) override;

 private:
  ClipContrastiveOptions options_;
};

}  // namespace loom

#pragma once
// SigLIP sigmoid loss (Zhai et al. 2023; open_clip src/open_clip/loss.py SigLipLoss): logits =
// scale · img·txtᵀ + bias, labels +1 on the diagonal and −1 elsewhere, loss = −Σ log σ(label · logit) / B.
//
// The loss sees whatever rows it is given and divides by their number: passed globally gathered features
// it is the global loss normalised by the global batch. open_clip's distributed form (local rows, other
// ranks' text blocks as negative-only terms, normalised by the local batch) would be a separate
// (local, global) overload; it does not exist yet.
#include "core/config/config_schema.h"
#include "losses/loss.h"

namespace loom {

struct SigLipOptions {
  std::string name = "siglip";

  template <class V>
  void visit(V& v) {
    v("name", name);
  }
};

class SigLipLoss : public ContrastiveLoss {
 public:
  // The options carry only the registry name: the loss has no settings of its own.
  explicit SigLipLoss(const SigLipOptions& /*options*/ = {}) {}
  // `logit_bias` is required (UserError otherwise): without it the B² − B negatives swamp the B positives.
  at::Tensor forward(const at::Tensor& image_features, const at::Tensor& text_features, const at::Tensor& logit_scale,
                     const at::Tensor& logit_bias = {}) override;
};

}  // namespace loom

#include "losses/register.h"

#include "core/registry/registries.h"
#include "losses/clip_contrastive.h"
#include "losses/focal_contrastive.h"
#include "losses/siglip.h"

namespace loom {

void register_losses() {
  loss_registry().add(
      "clip",
      [](const ConfigNode& node, const std::string& path) {
        return std::make_shared<ClipContrastiveLoss>(read_config<ClipContrastiveOptions>(node, path));
      },
      "CLIP InfoNCE: mean of the image-to-text and text-to-image cross-entropies (label_smoothing)");
  loss_registry().add(
      "focal_contrastive",
      [](const ConfigNode& node, const std::string& path) {
        return std::make_shared<FocalContrastiveLoss>(read_config<FocalContrastiveOptions>(node, path));
      },
      "RO-ViT sigmoid focal loss over the image-text similarity matrix (alpha, gamma)");
  loss_registry().add(
      "siglip",
      [](const ConfigNode& node, const std::string& path) {
        return std::make_shared<SigLipLoss>(read_config<SigLipOptions>(node, path));
      },
      "SigLIP sigmoid loss over all image-text pairs; needs the model's logit_bias");
}

}  // namespace loom

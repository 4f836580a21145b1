#include "losses/register.h"

#include "core/registries.h"
#include "losses/focal_contrastive.h"

namespace loom {

void register_losses() {
  loss_registry().add(
      "focal_contrastive",
      [](const ConfigNode& node) {
        return std::make_shared<FocalContrastiveLoss>(read_config<FocalContrastiveOptions>(node, "loss"));
      },
      "RO-ViT sigmoid focal loss over the image-text similarity matrix (alpha, gamma)");
}

}  // namespace loom

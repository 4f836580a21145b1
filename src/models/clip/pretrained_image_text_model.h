#pragma once
// An image–text model (CLIP, SigLIP) built and loaded from a weight source (models/weight_source.h),
// with the architecture the source records: what `loom eval` on a model-only config and `loom embed`
// run. A Loom run or checkpoint contributes its EMA model when it kept one, else its trained model.
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>

#include "core/config/config_node.h"
#include "models/clip/image_text_model.h"

namespace loom {

struct PretrainedImageTextModel {
  std::shared_ptr<ImageTextModel> model;  // on the CPU, weights loaded strictly, eval mode, no requires_grad
  ConfigNode section;                     // the reconciled section it was built from
  std::string fingerprint;                // models/model_metadata.h architecture_fingerprint of the section
  std::string source;
  std::size_t tensors_loaded = 0;
};

// `model_section` (may be null) is the config's section at `key`; reconciled with the source's record
// (a contradiction is a ConfigError naming the key and the file). UserError when the section names a
// model that is not image–text, or the weights do not fit it.
PretrainedImageTextModel load_pretrained_image_text_model(const std::filesystem::path& source,
                                                          const ConfigNode* model_section, const std::string& key);

}  // namespace loom

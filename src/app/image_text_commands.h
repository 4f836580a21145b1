#pragma once
// The CLI of image–text models that needs no training config: `loom eval` on a model-only config
// (a converter's `model:` section, plus eval.* keys) and `loom embed`.
#include <string>
#include <vector>

#include "core/config/config_node.h"

namespace loom::cli {

// `loom eval CONFIG ckpt=... [device=...] eval.zero_shot.root=... eval.retrieval.table=...` for a config
// without a recipe: prints the metrics (eval/image_text_evaluation.h).
int evaluate_image_text(const ConfigNode& config, const std::string& checkpoint, const std::string& device);

// `loom embed CONFIG ckpt=... images=FOLDER|TABLE [texts=FILE] out=FILE.npy|FILE.safetensors
// [normalize=true] [batch_size=64] [workers=2] [device=auto] [key=value overrides]`.
int embed(const std::string& config_path, const std::vector<std::string>& arguments);

}  // namespace loom::cli

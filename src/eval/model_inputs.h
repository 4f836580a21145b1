#pragma once
// The inputs an image–text model's weights expect, made from what the model section records: its text
// tokenizer (open_clip's BPE, or a SentencePiece model for SigLIP) and its evaluation preprocessing as
// a transform list (data/transforms.h) that image datasets take.
#include <memory>
#include <string>

#include "core/config/config_node.h"
#include "data/text_tokenizer.h"
#include "models/clip/image_text_model.h"

namespace loom::eval {

// One instance per distinct (kind, file, cleaning) in the process. `path` is the config key of the
// options ("model.text.tokenizer"), for errors: an unknown kind or a missing file is a ConfigError there.
std::shared_ptr<const data::TextTokenizer> make_text_tokenizer(const TokenizerOptions& options,
                                                               const std::string& path);

// The model's evaluation transforms (open_clip's image_transform with is_train=False).
ConfigNode preprocess_transforms(const ImageTextModel& model);

}  // namespace loom::eval

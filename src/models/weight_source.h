#pragma once
// The tensors and the recorded model section of whatever weight source a user names: a Loom run folder
// or checkpoint folder (its resolved config records the section), a .safetensors file (its metadata
// may: models/model_metadata.h), or another weight file (.pt, .pth, .bin: tensors only).
#include <filesystem>
#include <optional>
#include <string>

#include "core/config/config_node.h"
#include "core/io/weights.h"

namespace loom {

struct WeightSource {
  weights::NamedTensors tensors;    // as stored, prefixes kept
  std::optional<ConfigNode> model;  // the `model:` section it was made with, when the source records it
  std::string source;               // the path, for messages
};

// Throws UserError naming the path for what it cannot read.
WeightSource read_weight_source(const std::filesystem::path& path);

// The tensors under the first of `prefixes` that has any, without it; empty when none has any.
weights::NamedTensors under_first_prefix(const weights::NamedTensors& tensors,
                                         std::initializer_list<const char*> prefixes);

// The section a model is built from: the source's record reconciled with the config's section at `key`
// (may be null), or the config's alone where the source records none; UserError when neither has one.
ConfigNode pretrained_model_section(const WeightSource& source, const ConfigNode* model_section,
                                    const std::string& key);

}  // namespace loom

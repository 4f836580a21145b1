#include "models/weight_source.h"

#include "core/error.h"
#include "core/io/checkpoint.h"
#include "core/io/safetensors.h"
#include "core/text/cat.h"
#include "models/model_metadata.h"

namespace loom {

WeightSource read_weight_source(const std::filesystem::path& path) {
  WeightSource out{{}, std::nullopt, path.string()};
  if (!std::filesystem::is_regular_file(path)) {
    const LoadedCheckpoint checkpoint = CheckpointStore::load(path);  // a run folder or a checkpoint
    out.model = model_section_of_checkpoint(checkpoint);
    out.tensors = checkpoint.contents.tensors;
  } else if (path.extension() == ".safetensors") {
    weights::Safetensors read = weights::read_safetensors(path.string());
    out.model = model_section_from_metadata(read.metadata, out.source);
    out.tensors = std::move(read.tensors);
  } else {
    out.tensors = weights::read(path.string());
  }
  return out;
}

weights::NamedTensors under_first_prefix(const weights::NamedTensors& tensors,
                                         std::initializer_list<const char*> prefixes) {
  for (const std::string prefix : prefixes) {
    weights::NamedTensors picked;
    for (const auto& [k, v] : tensors)
      if (k.starts_with(prefix)) picked.emplace_back(k.substr(prefix.size()), v);
    if (!picked.empty()) return picked;
  }
  return {};
}

ConfigNode pretrained_model_section(const WeightSource& source, const ConfigNode* model_section,
                                    const std::string& key) {
  const bool configured = model_section && !model_section->is_null();
  if (source.model)
    return reconcile_model_section(configured ? *model_section : ConfigNode{}, key, *source.model, source.source);
  if (configured) return *model_section;
  throw UserError(cat(key, ": not in the config, and ", source.source,
                      " does not record the model section it was made with; give ", key, ": {name: ..., ...}"));
}

}  // namespace loom

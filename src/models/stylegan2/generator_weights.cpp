#include "models/stylegan2/generator_weights.h"

#include <map>
#include <string>

#include "core/error.h"
#include "core/io/checkpoint.h"
#include "core/io/safetensors.h"
#include "core/text/cat.h"
#include "models/model_metadata.h"
#include "models/stylegan2/rosinality_layout.h"

namespace loom {

namespace {

// The tensors under the first prefix that has any, unprefixed.
weights::NamedTensors under_first_prefix(const GeneratorFile& file, std::initializer_list<const char*> prefixes) {
  for (const std::string prefix : prefixes) {
    weights::NamedTensors picked;
    for (const auto& [k, v] : file.tensors)
      if (k.starts_with(prefix)) picked.emplace_back(k.substr(prefix.size()), v);
    if (!picked.empty()) return picked;
  }
  return {};
}

}  // namespace

GeneratorFile read_generator(const std::filesystem::path& path) {
  GeneratorFile file{{}, std::nullopt, path.string()};
  if (!std::filesystem::is_regular_file(path)) {
    const LoadedCheckpoint checkpoint = CheckpointStore::load(path);  // a run folder or a checkpoint
    file.model = model_section_of_checkpoint(checkpoint);
    file.tensors = checkpoint.contents.tensors;
    return file;
  }
  if (path.extension() == ".pkl")
    throw UserError(cat(path.string(),
                        ": NVlabs snapshots are pickled Python modules; convert it first with "
                        "scripts/convert_stylegan2.py (needs the NVlabs repository)"));
  if (path.extension() == ".safetensors") {
    weights::Safetensors read = weights::read_safetensors(path.string());
    file.model = model_section_from_metadata(read.metadata, file.source);
    file.tensors = std::move(read.tensors);
  } else {
    file.tensors = weights::read(path.string());
  }
  std::map<std::string, at::Tensor> state(file.tensors.begin(), file.tensors.end());
  if (is_rosinality_generator(state)) {
    state = generator_from_rosinality(state, file.source);
    file.tensors.assign(state.begin(), state.end());
  }
  return file;
}

weights::NamedTensors generator_weights(const GeneratorFile& file) {
  weights::NamedTensors picked = under_first_prefix(file, {"ema.G.", "G_ema.", "module.G.", "G."});
  return picked.empty() ? file.tensors : picked;
}

weights::NamedTensors discriminator_weights(const GeneratorFile& file) {
  return under_first_prefix(file, {"module.D.", "D."});
}

}  // namespace loom

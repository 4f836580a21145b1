#include "models/stylegan2/generator_weights.h"

#include <map>
#include <string>

#include "core/error.h"
#include "core/text/cat.h"
#include "models/stylegan2/rosinality_layout.h"

namespace loom {

GeneratorFile read_generator(const std::filesystem::path& path) {
  if (std::filesystem::is_regular_file(path) && path.extension() == ".pkl")
    throw UserError(cat(path.string(),
                        ": NVlabs snapshots are pickled Python modules; convert it first with "
                        "scripts/convert_stylegan2.py (needs the NVlabs repository)"));
  GeneratorFile file = read_weight_source(path);
  if (!std::filesystem::is_regular_file(path)) return file;
  std::map<std::string, at::Tensor> state(file.tensors.begin(), file.tensors.end());
  if (is_rosinality_generator(state)) {
    state = generator_from_rosinality(state, file.source);
    file.tensors.assign(state.begin(), state.end());
  }
  return file;
}

weights::NamedTensors generator_weights(const GeneratorFile& file) {
  weights::NamedTensors picked = under_first_prefix(file.tensors, {"ema.G.", "G_ema.", "module.G.", "G."});
  return picked.empty() ? file.tensors : picked;
}

weights::NamedTensors discriminator_weights(const GeneratorFile& file) {
  return under_first_prefix(file.tensors, {"module.D.", "D."});
}

}  // namespace loom

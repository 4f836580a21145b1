#include "models/stylegan2/generator_weights.h"

#include <map>
#include <string>

#include "core/error.h"
#include "core/io/checkpoint.h"
#include "core/text/cat.h"
#include "models/stylegan2/rosinality_layout.h"

namespace loom {

weights::NamedTensors generator_weights(const std::filesystem::path& path) {
  std::map<std::string, at::Tensor> state;
  if (std::filesystem::is_regular_file(path)) {
    if (path.extension() == ".pkl")
      throw UserError(cat(path.string(),
                          ": NVlabs snapshots are pickled Python modules; convert it first with "
                          "scripts/convert_stylegan2.py (needs the NVlabs repository)"));
    for (auto& [k, v] : weights::read(path.string())) state.emplace(k, v);
    if (is_rosinality_generator(state)) state = generator_from_rosinality(state, path.string());
  } else {
    const std::filesystem::path dir = std::filesystem::exists(path / "checkpoints") ? path / "checkpoints" : path;
    for (auto& [k, v] : CheckpointStore::load(dir).contents.tensors) state.emplace(k, v);
  }
  // The EMA generator first: Loom checkpoints ("ema.G."), converted snapshots ("G_ema."), then G.
  for (const std::string prefix : {"ema.G.", "G_ema.", "module.G.", "G."}) {
    weights::NamedTensors picked;
    for (const auto& [k, v] : state)
      if (k.starts_with(prefix)) picked.emplace_back(k.substr(prefix.size()), v);
    if (!picked.empty()) return picked;
  }
  return {state.begin(), state.end()};
}

}  // namespace loom

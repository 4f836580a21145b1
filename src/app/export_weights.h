#pragma once
// `loom export-weights CKPT out=FILE.safetensors [module=ema.G] [section=model]`: modules of a Loom run
// folder or checkpoint as a weight file whose safetensors metadata records the run's model section
// ("loom.model", models/model_metadata.h), so `loom generate`, `loom eval` and a distillation teacher
// built from the file get the architecture it was trained with.
//   module=NAME     a trained module (G, D, model) or an EMA copy (ema.G); default: the run's one EMA
//                   copy, else its one module. One module is written unprefixed; a list (module=ema.G,D)
//                   under NVlabs-style prefixes (G_ema., G., D.), as scripts/convert_stylegan2.py --all does.
//   section=KEY     the config section that describes the modules (a distilled student's, say)
#include <string>
#include <vector>

namespace loom::cli {

int export_weights(const std::string& checkpoint, const std::vector<std::string>& arguments);

}  // namespace loom::cli

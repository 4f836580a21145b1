#pragma once
// A StyleGAN2 generator built and loaded from a weight source (anything read_generator reads), with
// the architecture the source records: what `loom generate` samples from and what a distillation
// recipe keeps frozen as its teacher.
#include <cstddef>
#include <filesystem>
#include <string>

#include "core/config/config_node.h"
#include "core/io/weights.h"
#include "models/stylegan2/generator.h"
#include "models/stylegan2/generator_weights.h"

namespace loom {

struct PretrainedGenerator {
  Generator generator{nullptr};         // on the CPU, weights loaded strictly, eval mode, no requires_grad
  ConfigNode model;                     // the section it was built from (options: generator->options())
  weights::NamedTensors discriminator;  // the source's D, unprefixed NVlabs names; empty when it has none
  std::string source;
  std::size_t tensors_loaded = 0;
};

// `model_section` (may be null) is the config's section at `key` (e.g. "model", "teacher.model"). When
// the source records its section the two are reconciled (models/model_metadata.h: unset keys come from
// the file, a contradiction is a ConfigError naming the key and the file); otherwise the config's is
// used. UserError when neither gives one, or when the weights do not fit it.
PretrainedGenerator load_pretrained_generator(const std::filesystem::path& source, const ConfigNode* model_section,
                                              const std::string& key);

// The same from a file already read, with its section already reconciled.
PretrainedGenerator load_pretrained_generator(const GeneratorFile& file, const ConfigNode& section,
                                              const std::string& key);

}  // namespace loom

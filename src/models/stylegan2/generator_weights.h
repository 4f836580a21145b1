#pragma once
// A StyleGAN2's weights, with NVlabs names, and the model section they were made with, from whatever a
// user has: a Loom run folder or checkpoint (its resolved config records the section), a weight file in
// the NVlabs layout (as written by scripts/convert_stylegan2.py or `loom export-weights`, unprefixed or
// under G_ema. / G. / D.; the safetensors metadata records the section), or a rosinality generator
// state dict (mapped on load; it records nothing).
#include <filesystem>
#include <optional>
#include <string>

#include "core/io/weights.h"
#include "models/weight_source.h"

namespace loom {

// The source as read_weight_source reads it, a rosinality generator renamed to NVlabs' names.
using GeneratorFile = WeightSource;

// Throws UserError naming the path for what it cannot read (a .pkl asks for the converter).
GeneratorFile read_generator(const std::filesystem::path& path);

// The generator's tensors, unprefixed: the EMA generator first (Loom's "ema.G.", converted "G_ema."),
// then G ("module.G.", "G."), else the whole file (an unprefixed generator).
weights::NamedTensors generator_weights(const GeneratorFile& file);

// The discriminator's tensors, unprefixed ("module.D." in Loom checkpoints, "D." in converted or
// exported files); empty when the source has none.
weights::NamedTensors discriminator_weights(const GeneratorFile& file);

}  // namespace loom

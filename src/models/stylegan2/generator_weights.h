#pragma once
// A StyleGAN2 generator's weights, with NVlabs names, from whatever a user has: a Loom run folder or
// checkpoint (the EMA generator, else G), a weight file in the NVlabs layout (as written by
// scripts/convert_stylegan2.py, unprefixed or under G_ema. / G.), or a rosinality generator state dict.
#include <filesystem>

#include "core/io/weights.h"

namespace loom {

// Throws UserError naming the path for what it cannot read (a .pkl asks for the converter).
weights::NamedTensors generator_weights(const std::filesystem::path& path);

}  // namespace loom

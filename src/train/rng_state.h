#pragma once
// The default random generators (CPU and every CUDA device) as named tensors, for checkpoints: restoring
// them makes dropout, latent sampling and augmentation continue exactly where the run stopped.
#include "core/io/weights.h"

namespace loom {

weights::NamedTensors capture_rng_state();  // "rng.cpu", "rng.cuda.<index>"
// Restores every generator present in `tensors` (other entries are ignored).
void restore_rng_state(const weights::NamedTensors& tensors);

}  // namespace loom

#pragma once

namespace loom {
// Registers every training recipe (one file per method under train/recipes/).
void register_recipes();
}  // namespace loom

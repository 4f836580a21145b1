#pragma once

namespace loom::data {
// Registers image_folder, caption_table, synthetic_shapes and synthetic_scenes in the dataset registry.
void register_datasets();
}  // namespace loom::data

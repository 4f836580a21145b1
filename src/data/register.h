#pragma once

namespace loom::data {
// Registers image_folder, caption_table, synthetic_shapes, synthetic_scenes and mixture in the dataset registry.
void register_datasets();
}  // namespace loom::data

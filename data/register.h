#pragma once

namespace loom::data {
// Registers image_folder, caption_table and synthetic_shapes in the dataset registry.
void register_datasets();
}  // namespace loom::data

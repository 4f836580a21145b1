#pragma once
// Tiles a batch of images into one picture (sample grids for files and TensorBoard).
#include <cstdint>

#include <ATen/core/Tensor.h>

namespace loom::data {

// images [N, C, H, W] with values in [low, high] -> [C, rows·H, columns·W] float in [0, 1], row-major,
// unused cells black. columns <= 0 picks ceil(sqrt(N)).
at::Tensor image_grid(const at::Tensor& images, int64_t columns = 0, double low = -1.0, double high = 1.0);

}  // namespace loom::data

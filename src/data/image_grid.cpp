#include "data/image_grid.h"

#include <cmath>

#include <ATen/ops/zeros.h>

#include "core/error.h"

namespace loom::data {

at::Tensor image_grid(const at::Tensor& images, int64_t columns, double low, double high) {
  if (images.dim() != 4 || images.size(0) == 0) throw UserError("image_grid: needs a non-empty [N, C, H, W] batch");
  const int64_t n = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
  if (columns <= 0) columns = static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(n))));
  const int64_t rows = (n + columns - 1) / columns;
  at::Tensor scaled = ((images.detach().to(at::kFloat).cpu() - low) / (high - low)).clamp(0, 1);
  at::Tensor grid = at::zeros({c, rows * h, columns * w});
  for (int64_t i = 0; i < n; ++i) grid.narrow(1, (i / columns) * h, h).narrow(2, (i % columns) * w, w).copy_(scaled[i]);
  return grid;
}

}  // namespace loom::data

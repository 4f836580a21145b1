#include "nn/haar_wavelet.h"

#include <array>

#include <ATen/ops/cat.h>
#include <ATen/ops/stack.h>

#include "core/error.h"
#include "core/text/cat.h"

namespace loom::nn {

namespace {

// ½·H·p for the 4-point Hadamard matrix H: the forward and the inverse transform alike.
std::array<at::Tensor, 4> half_hadamard(const std::array<at::Tensor, 4>& p) {
  const at::Tensor s01 = p[0] + p[1], d01 = p[0] - p[1], s23 = p[2] + p[3], d23 = p[2] - p[3];
  return {(s01 + s23) * 0.5, (s01 - s23) * 0.5, (d01 + d23) * 0.5, (d01 - d23) * 0.5};
}

}  // namespace

at::Tensor haar_dwt(const at::Tensor& x) {
  if (x.dim() != 4 || x.size(2) % 2 != 0 || x.size(3) % 2 != 0)
    throw UserError(cat("haar_dwt: expected [N, C, H, W] with even H and W, got ", x.sizes()));
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2) / 2, w = x.size(3) / 2;
  const at::Tensor blocks = x.reshape({n, c, h, 2, w, 2});  // [.., row, dy, column, dx]
  auto pixel = [&](int64_t dy, int64_t dx) { return blocks.select(5, dx).select(3, dy); };
  const auto bands = half_hadamard({pixel(0, 0), pixel(0, 1), pixel(1, 0), pixel(1, 1)});
  return at::cat({bands[0], bands[1], bands[2], bands[3]}, 1);
}

at::Tensor haar_idwt(const at::Tensor& coefficients) {
  if (coefficients.dim() != 4 || coefficients.size(1) % 4 != 0)
    throw UserError(cat("haar_idwt: expected [N, 4C, h, w], got ", coefficients.sizes()));
  const int64_t n = coefficients.size(0), c = coefficients.size(1) / 4, h = coefficients.size(2),
                w = coefficients.size(3);
  auto band = [&](int64_t k) { return coefficients.narrow(1, k * c, c); };
  const auto p = half_hadamard({band(0), band(1), band(2), band(3)});                        // a, b, c, d
  const at::Tensor top = at::stack({p[0], p[1]}, -1), bottom = at::stack({p[2], p[3]}, -1);  // [N, C, h, w, dx]
  return at::stack({top, bottom}, 3).reshape({n, c, 2 * h, 2 * w});                          // [N, C, h, dy, w, dx]
}

}  // namespace loom::nn

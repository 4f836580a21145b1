#include "losses/perceptual/feature_distances.h"

#include <ATen/ops/abs.h>
#include <ATen/ops/bmm.h>
#include <ATen/ops/conv2d.h>
#include <ATen/ops/sqrt.h>
#include <ATen/ops/upsample_bilinear2d.h>

#include "ops/perceptual_distance.h"

namespace loom::perceptual {

namespace {

constexpr double kLpipsEps = 1e-10;  // lpips.normalize_tensor: added outside the square root

at::Tensor full_precision(const at::Tensor& t) {
  return t.scalar_type() == at::kHalf || t.scalar_type() == at::kBFloat16 ? t.to(at::kFloat) : t;
}

at::Tensor unit_channels(const at::Tensor& f) { return f / (at::sqrt((f * f).sum(1, true)) + kLpipsEps); }

}  // namespace

at::Tensor lpips_layer_distance(const at::Tensor& f0, const at::Tensor& f1, const at::Tensor& channel_weights) {
  const at::Tensor a = full_precision(f0);
  return ops::perceptual_distance(a, full_precision(f1), channel_weights.to(a.scalar_type()), kLpipsEps);
}

at::Tensor lpips_layer_map(const at::Tensor& f0, const at::Tensor& f1, const at::Tensor& channel_weights,
                           at::IntArrayRef size) {
  const at::Tensor a = full_precision(f0);
  const at::Tensor diff = (unit_channels(a) - unit_channels(full_precision(f1))).pow(2);
  // The lin head is a 1x1 conv without bias, as in the package.
  const at::Tensor map = at::conv2d(diff, channel_weights.to(a.scalar_type()).view({1, -1, 1, 1}));
  return at::upsample_bilinear2d(map, size, /*align_corners=*/false);
}

at::Tensor feature_l1(const at::Tensor& a, const at::Tensor& b) {
  return at::abs(full_precision(a) - full_precision(b)).mean({1, 2, 3});
}

at::Tensor gram_matrix(const at::Tensor& f) {
  const at::Tensor x = full_precision(f);
  const int64_t n = x.size(0), c = x.size(1), hw = x.size(2) * x.size(3);
  const at::Tensor flat = x.reshape({n, c, hw});
  return at::bmm(flat, flat.transpose(1, 2)) / static_cast<double>(c * hw);
}

at::Tensor gram_l1(const at::Tensor& a, const at::Tensor& b) {
  return at::abs(gram_matrix(a) - gram_matrix(b)).mean({1, 2});
}

}  // namespace loom::perceptual

#include "nn/diff_augment.h"

#include <ATen/TensorIndexing.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/constant_pad_nd.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/rand.h>
#include <ATen/ops/randint.h>
#include <ATen/ops/zeros.h>

#include "core/error.h"
#include "core/text/cat.h"

namespace loom::nn {
namespace {

at::Tensor per_sample_uniform(const at::Tensor& x) { return at::rand({x.size(0), 1, 1, 1}, x.options()); }

at::Tensor color(const at::Tensor& images) {
  at::Tensor x = images + (per_sample_uniform(images) - 0.5);
  const at::Tensor gray = x.mean(1, true);
  x = (x - gray) * (per_sample_uniform(x) * 2) + gray;
  const at::Tensor mean = x.mean({1, 2, 3}, true);
  return (x - mean) * (per_sample_uniform(x) + 0.5) + mean;
}

// Source rows/columns of every output pixel, gathered from the image padded by one zero pixel: shifts
// past the border land on the padding.
at::Tensor translation(const at::Tensor& x, double ratio) {
  const int64_t n = x.size(0), h = x.size(2), w = x.size(3);
  const int64_t sh = static_cast<int64_t>(h * ratio + 0.5), sw = static_cast<int64_t>(w * ratio + 0.5);
  const auto long_options = x.options().dtype(at::kLong);
  const at::Tensor ty = at::randint(-sh, sh + 1, {n, 1, 1}, long_options);
  const at::Tensor tx = at::randint(-sw, sw + 1, {n, 1, 1}, long_options);
  const at::Tensor rows = (at::arange(h, long_options).view({1, h, 1}) + ty + 1).clamp(0, h + 1);
  const at::Tensor cols = (at::arange(w, long_options).view({1, 1, w}) + tx + 1).clamp(0, w + 1);
  const at::Tensor batch = at::arange(n, long_options).view({n, 1, 1});
  const at::Tensor padded = at::constant_pad_nd(x, {1, 1, 1, 1}).permute({0, 2, 3, 1});
  return padded.index({batch, rows, cols}).permute({0, 3, 1, 2});
}

at::Tensor cutout(const at::Tensor& x, double ratio) {
  const int64_t n = x.size(0), h = x.size(2), w = x.size(3);
  const int64_t ch = static_cast<int64_t>(h * ratio + 0.5), cw = static_cast<int64_t>(w * ratio + 0.5);
  const auto long_options = x.options().dtype(at::kLong);
  const at::Tensor oy = at::randint(0, h + (1 - ch % 2), {n, 1, 1}, long_options);
  const at::Tensor ox = at::randint(0, w + (1 - cw % 2), {n, 1, 1}, long_options);
  const at::Tensor rows = (at::arange(ch, long_options).view({1, ch, 1}) + oy - ch / 2).clamp(0, h - 1);
  const at::Tensor cols = (at::arange(cw, long_options).view({1, 1, cw}) + ox - cw / 2).clamp(0, w - 1);
  at::Tensor mask = at::ones({n, h, w}, x.options());
  mask.index_put_({at::arange(n, long_options).view({n, 1, 1}), rows, cols}, at::zeros({}, x.options()));
  return x * mask.unsqueeze(1);
}

}  // namespace

DiffAugmentPolicy parse_diff_augment_policy(const std::string& text, const std::string& key) {
  DiffAugmentPolicy policy{.color = false, .translation = false, .cutout = false};
  size_t begin = 0;
  while (begin < text.size()) {
    size_t end = text.find(',', begin);
    if (end == std::string::npos) end = text.size();
    const std::string name = text.substr(begin, end - begin);
    if (name == "color")
      policy.color = true;
    else if (name == "translation")
      policy.translation = true;
    else if (name == "cutout")
      policy.cutout = true;
    else if (!name.empty())
      throw UserError(cat(key, ": unknown DiffAugment policy '", name, "' (use color, translation, cutout)"));
    begin = end + 1;
  }
  return policy;
}

at::Tensor diff_augment(const at::Tensor& images, const DiffAugmentPolicy& policy) {
  at::Tensor x = images;
  if (policy.color) x = color(x);
  if (policy.translation) x = translation(x, policy.translation_ratio);
  if (policy.cutout) x = cutout(x, policy.cutout_ratio);
  return x;
}

}  // namespace loom::nn

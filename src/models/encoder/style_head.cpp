#include "models/encoder/style_head.h"

#include <ATen/ops/upsample_bilinear2d.h>
#include <torch/nn/modules/activation.h>

namespace loom {

namespace {

namespace tnn = torch::nn;

int64_t num_halvings(int64_t side) {
  int64_t n = 1;  // pSp's first conv runs even on a 1x1 tap
  while ((int64_t{1} << n) < side) ++n;
  return n;
}

// pSp's _upsample_add.
at::Tensor upsample_add(const at::Tensor& x, const at::Tensor& lateral) {
  return at::upsample_bilinear2d(x, {lateral.size(2), lateral.size(3)}, /*align_corners=*/true) + lateral;
}

}  // namespace

GradualStyleBlockImpl::GradualStyleBlockImpl(int64_t in_channels, int64_t channels, int64_t side, int64_t w_dim)
    : in_channels_(in_channels), channels_(channels), side_(side), w_dim_(w_dim) {
  convs = register_module("convs", tnn::Sequential());
  for (int64_t k = 0, in = in_channels; k < num_halvings(side); ++k, in = channels) {
    convs->push_back(tnn::Conv2d(tnn::Conv2dOptions(in, channels, 3).stride(2).padding(1)));
    convs->push_back(tnn::LeakyReLU());
  }
  linear = register_module("linear", nn::EqualizedLinear(channels, w_dim));
}

at::Tensor GradualStyleBlockImpl::forward(const at::Tensor& x) { return linear->forward(convs->forward(x).flatten(1)); }

int64_t GradualStyleBlockImpl::multiply_accumulates() const {
  int64_t macs = channels_ * w_dim_, side = side_, in = in_channels_;
  for (int64_t k = 0; k < num_halvings(side_); ++k, in = channels_) {
    side = (side + 1) / 2;
    macs += side * side * channels_ * in * 9;
  }
  return macs;
}

StyleHeadImpl::StyleHeadImpl(const std::vector<TapShape>& taps, const std::vector<int64_t>& level_ws, int64_t channels,
                             int64_t w_dim)
    : taps_(taps), level_ws_(level_ws) {
  const int64_t fpn = taps[2].channels;
  if (level_ws[1] > 0)
    latlayer1 = register_module("latlayer1", tnn::Conv2d(tnn::Conv2dOptions(taps[1].channels, fpn, 1)));
  if (level_ws[2] > 0)
    latlayer2 = register_module("latlayer2", tnn::Conv2d(tnn::Conv2dOptions(taps[0].channels, fpn, 1)));
  const char* names[] = {"coarse", "middle", "fine"};
  tnn::ModuleList* lists[] = {&coarse, &middle, &fine};
  for (int level = 0; level < 3; ++level) {
    if (level_ws[level] == 0) continue;
    *lists[level] = register_module(names[level], tnn::ModuleList());
    for (int64_t i = 0; i < level_ws[level]; ++i) {
      blocks_.emplace_back(fpn, channels, taps[2 - level].side, w_dim);
      (*lists[level])->push_back(blocks_.back());
    }
  }
}

std::vector<at::Tensor> StyleHeadImpl::forward(const at::Tensor& c1, const at::Tensor& c2, const at::Tensor& c3,
                                               int64_t count) {
  std::vector<at::Tensor> rows;
  at::Tensor features = c3;
  for (int64_t i = 0; i < count; ++i) {
    if (i == level_ws_[0]) features = upsample_add(features, latlayer1->forward(c2));
    if (i == level_ws_[0] + level_ws_[1]) features = upsample_add(features, latlayer2->forward(c1));
    rows.push_back(blocks_[i]->forward(features));
  }
  return rows;
}

std::vector<std::pair<std::string, int64_t>> StyleHeadImpl::multiply_accumulates() const {
  std::vector<std::pair<std::string, int64_t>> macs;
  const int64_t fpn = taps_[2].channels;
  if (latlayer1) macs.emplace_back("latlayer1", taps_[1].side * taps_[1].side * taps_[1].channels * fpn);
  if (latlayer2) macs.emplace_back("latlayer2", taps_[0].side * taps_[0].side * taps_[0].channels * fpn);
  const char* names[] = {"coarse", "middle", "fine"};
  size_t row = 0;
  for (int level = 0; level < 3; ++level) {
    if (level_ws_[level] == 0) continue;
    int64_t m = 0;
    for (int64_t i = 0; i < level_ws_[level]; ++i) m += blocks_[row++]->multiply_accumulates();
    macs.emplace_back(names[level], m);
  }
  return macs;
}

}  // namespace loom

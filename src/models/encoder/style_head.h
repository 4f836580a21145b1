#pragma once
// pSp's GradualStyleEncoder head (eladrich/pixel2style2pixel models/encoders/psp_encoders.py) on three
// backbone taps c1 (highest resolution) … c3 (lowest): an FPN p2 = up(c3) + latlayer1(c2),
// p1 = up(p2) + latlayer2(c1) (1x1 convs to c3's channels, bilinear with align_corners as pSp), and
// one GradualStyleBlock per style row reading c3, p2 or p1 by its level (mobilenet_v2_encoder_options.h).
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

#include "nn/equalized_linear.h"

namespace loom {

// max(1, log2(side)) 3x3 stride-2 convs with LeakyReLU(0.01) down to 1x1, then an equalized linear to
// w_dim (pSp's block, its inner width `channels` instead of 512).
class GradualStyleBlockImpl : public torch::nn::Module {
 public:
  GradualStyleBlockImpl(int64_t in_channels, int64_t channels, int64_t side, int64_t w_dim);
  at::Tensor forward(const at::Tensor& x);  // [N, in, side, side] -> [N, w_dim]
  int64_t multiply_accumulates() const;     // convs at their output side, and the linear

  torch::nn::Sequential convs{nullptr};
  nn::EqualizedLinear linear{nullptr};

 private:
  int64_t in_channels_, channels_, side_, w_dim_;
};
TORCH_MODULE(GradualStyleBlock);

struct TapShape {
  int64_t channels, side;
};

class StyleHeadImpl : public torch::nn::Module {
 public:
  // `level_ws`: styles from c3, p2 and p1; a level without any is not built (nor its lateral conv).
  StyleHeadImpl(const std::vector<TapShape>& taps, const std::vector<int64_t>& level_ws, int64_t channels,
                int64_t w_dim);

  // The first `count` style rows, each [N, w_dim]; the FPN levels no row reads are not computed.
  std::vector<at::Tensor> forward(const at::Tensor& c1, const at::Tensor& c2, const at::Tensor& c3, int64_t count);

  int64_t num_ws() const { return static_cast<int64_t>(blocks_.size()); }
  const std::vector<int64_t>& level_ws() const { return level_ws_; }
  const std::vector<GradualStyleBlock>& blocks() const { return blocks_; }  // every row's, in order
  // "latlayer1", "latlayer2", "coarse", "middle", "fine" (those built), each in mult-adds.
  std::vector<std::pair<std::string, int64_t>> multiply_accumulates() const;

  torch::nn::Conv2d latlayer1{nullptr}, latlayer2{nullptr};
  torch::nn::ModuleList coarse{nullptr}, middle{nullptr}, fine{nullptr};

 private:
  std::vector<TapShape> taps_;
  std::vector<int64_t> level_ws_;
  std::vector<GradualStyleBlock> blocks_;  // every row in order, aliases of the three lists
};
TORCH_MODULE(StyleHead);

}  // namespace loom

#pragma once
// torchvision's MobileNetV2 `features` (torchvision/models/mobilenetv2.py), truncated after a number of
// its 7 inverted-residual stages, under torchvision's parameter names — features.0.0.weight (stem conv),
// features.0.1.running_mean (its BatchNorm), features.N.conv.0.0.weight, … — so an ImageNet state dict
// (mobilenet_v2-b0353104.pth; a pre-1.6 file needs re-saving with torch.save, which weights::read says)
// loads as is. Stage s (1-based) is torchvision's row s of (t, c, n, s); stage 0 is the stem.
// Conv weights start as torchvision's (kaiming normal, fan_out), BatchNorm at 1 / 0.
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/pimpl.h>

#include "core/io/weights.h"

namespace loom {

class MobileNetV2Impl : public torch::nn::Module {
 public:
  MobileNetV2Impl(double width_mult, int64_t stages);

  // Input normalised as torchvision's ImageNet models expect; returns the outputs of `taps` (stage
  // numbers, increasing, the last <= stages) in order, running no further than the last tap.
  std::vector<at::Tensor> forward(const at::Tensor& x, const std::vector<int64_t>& taps);

  int64_t stage_channels(int64_t stage) const { return stage_channels_.at(stage); }
  size_t stage_end(int64_t stage) const { return stage_end_.at(stage); }  // index into features
  bool residual(size_t feature) const { return residual_.at(feature); }   // an inverted residual with a skip
  int64_t stage_side(int64_t stage, int64_t input_side) const;
  // Convs at their output resolution (depthwise: one k x k product per output element); BatchNorm
  // (folded into the conv at inference), ReLU6 and the residual additions not.
  int64_t multiply_accumulates(int64_t input_side) const;

  // Copies torchvision's state dict: every tensor of the kept features strictly (names and shapes;
  // UserError naming `source`), later features and classifier.* skipped.
  weights::LoadReport load_torchvision(const weights::NamedTensors& tensors, const std::string& source);

  torch::nn::Sequential features{nullptr};

 private:
  struct Conv {
    int64_t in, out, kernel, stride, groups;
  };
  std::vector<Conv> convs_;              // in forward order
  std::vector<size_t> stage_end_;        // features index ending each stage (0: the stem)
  std::vector<int64_t> stage_channels_;  // output channels of each stage
  std::vector<int64_t> stage_halvings_;  // stride-2 convs up to the end of each stage
  std::vector<bool> residual_;           // per features entry
};
TORCH_MODULE(MobileNetV2);

}  // namespace loom

#pragma once
// Inception-v3 as used by the standard FID code: the TensorFlow "2015-12-05" graph in pytorch-fid's
// port (torchvision's Inception3 with its Mixed_5b..5d, 6b..6e, 7b, 7c blocks patched: average pooling
// ignores the zero padding, the last block max-pools). Parameter names equal torchvision's / pytorch-fid's
// state dict (Conv2d_1a_3x3.conv.weight, Mixed_5b.branch1x1.bn.running_mean, ...), so the weight file
// pt_inception-2015-12-05-6726825d.pth loads after scripts/convert_inception.py.
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "eval/metrics/feature_extractor.h"

namespace loom::eval {

// conv (no bias) → BatchNorm with eps 0.001 in inference mode → ReLU, like torchvision's BasicConv2d.
// The BatchNorm keeps only weight, bias, running_mean and running_var (no num_batches_tracked), the four
// tensors the TF port has.
class BasicConv2dImpl : public torch::nn::Module {
 public:
  BasicConv2dImpl(int64_t in, int64_t out, std::array<int64_t, 2> kernel, int64_t stride = 1,
                  std::array<int64_t, 2> padding = {0, 0});
  at::Tensor forward(const at::Tensor& x);

 private:
  int64_t stride_;
  std::array<int64_t, 2> padding_;
  at::Tensor weight_;  // "conv.weight"
  at::Tensor bn_weight_, bn_bias_, bn_mean_, bn_var_;
};
TORCH_MODULE(BasicConv2d);

class InceptionV3Impl : public torch::nn::Module {
 public:
  InceptionV3Impl();
  // images float [N, 3, H, W] in [0, 1] → pool3 features [N, 2048]. Like pytorch-fid: bilinear resize to
  // 299×299 (align_corners=False, no antialiasing), then 2x − 1.
  at::Tensor forward(const at::Tensor& images);
  // Reads a weight file strictly (missing, unexpected or mis-shaped tensors are a UserError naming the
  // file). Tolerated extras of the full classifier: "fc.*", "AuxLogits.*", "*.num_batches_tracked";
  // a "module." prefix is stripped.
  void load_weights(const std::string& path);

  // A Mixed_* block (the five kinds are defined in inception_v3.cpp).
  class Block : public torch::nn::Module {
   public:
    virtual at::Tensor forward(const at::Tensor& x) = 0;
  };

 private:
  std::vector<BasicConv2d> stem_;              // Conv2d_1a_3x3 .. Conv2d_4a_3x3
  std::vector<std::shared_ptr<Block>> mixed_;  // Mixed_5b .. Mixed_7c
};
TORCH_MODULE(InceptionV3);

class InceptionFeatureExtractor : public FeatureExtractor {
 public:
  InceptionFeatureExtractor(const std::string& weights_path, c10::Device device, int64_t batch_size = 64);
  at::Tensor features(const at::Tensor& images) override;
  int64_t dim() const override { return 2048; }
  std::string name() const override { return "inception-v3 (TF 2015-12-05, pool3)"; }
  bool comparable_to_published() const override { return true; }

 private:
  InceptionV3 net_;
  c10::Device device_;
  int64_t batch_size_;
};

}  // namespace loom::eval

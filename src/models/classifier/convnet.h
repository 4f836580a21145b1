#pragma once
// A small convolutional image classifier: stages of (3x3 conv, BatchNorm, ReLU) with stride-2
// downsampling, global average pooling and a linear head. The CPU-sized model of the quickstart.
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include "core/config/config_schema.h"
#include "models/classifier/image_classifier.h"

namespace loom {

struct ConvNetOptions {
  std::string name = "convnet";
  int64_t in_channels = 3;
  int64_t image_size = 32;
  std::vector<int64_t> widths{16, 32, 64};  // one stage per entry; every stage after the first halves H, W
  int64_t num_classes = 10;

  template <class V>
  void visit(V& v) {
    v("name", name);
    v("in_channels", in_channels, {.help = "input image channels", .min = 1});
    v("image_size", image_size, {.help = "input height = width", .min = 4});
    v("widths", widths, {.help = "channels per stage", .min = 1, .min_items = 1});
    v("num_classes", num_classes, {.help = "output logits", .min = 1});
  }
};

class ConvNet : public ImageClassifier {
 public:
  explicit ConvNet(const ConvNetOptions& options);
  at::Tensor forward(const at::Tensor& images);  // [B, C, H, W] -> logits [B, num_classes]
  at::Tensor classify(const at::Tensor& images) override { return forward(images); }
  int64_t num_classes() const override { return options_.num_classes; }
  std::vector<std::pair<std::string, int64_t>> multiply_accumulates() const override;
  const ConvNetOptions& options() const { return options_; }

 private:
  ConvNetOptions options_;
  torch::nn::Sequential features_{nullptr};
  torch::nn::Linear head_{nullptr};
};

void register_classifier_models();

}  // namespace loom

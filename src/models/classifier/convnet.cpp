#include "models/classifier/convnet.h"

#include <torch/nn/functional/pooling.h>
#include <torch/nn/modules/activation.h>

#include "core/registry/registries.h"

namespace loom {

ConvNet::ConvNet(const ConvNetOptions& options) : options_(options) {
  namespace nn = torch::nn;
  features_ = register_module("features", nn::Sequential());
  int64_t channels = options.in_channels;
  for (size_t i = 0; i < options.widths.size(); ++i) {
    int64_t width = options.widths[i];
    features_->push_back(
        nn::Conv2d(nn::Conv2dOptions(channels, width, 3).stride(i == 0 ? 1 : 2).padding(1).bias(false)));
    features_->push_back(nn::BatchNorm2d(width));
    features_->push_back(nn::ReLU());
    channels = width;
  }
  head_ = register_module("head", nn::Linear(channels, options.num_classes));
}

at::Tensor ConvNet::forward(const at::Tensor& images) {
  at::Tensor x = features_->forward(images);
  return head_->forward(x.mean({2, 3}));
}

std::vector<std::pair<std::string, int64_t>> ConvNet::multiply_accumulates() const {
  int64_t macs = 0, channels = options_.in_channels, size = options_.image_size;
  for (size_t i = 0; i < options_.widths.size(); ++i) {
    if (i > 0) size = (size - 1) / 2 + 1;  // 3x3, stride 2, padding 1
    macs += size * size * options_.widths[i] * channels * 9;
    channels = options_.widths[i];
  }
  return {{"features", macs}, {"head", channels * options_.num_classes}};
}

void register_classifier_models() {
  model_registry().add(
      "convnet",
      [](const ConfigNode& node, const std::string& path) {
        return std::make_shared<ConvNet>(read_config<ConvNetOptions>(node, path));
      },
      "small CNN image classifier (conv-BN-ReLU stages, global pooling, linear head)");
}

}  // namespace loom

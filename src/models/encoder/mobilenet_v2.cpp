#include "models/encoder/mobilenet_v2.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <utility>

#include <torch/nn/init.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>

namespace loom {

namespace {

namespace tnn = torch::nn;

// torchvision's inverted_residual_setting: expansion t, channels c, repeats n, first stride s.
struct StageRow {
  int64_t t, c, n, s;
};
constexpr StageRow kStages[] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                                {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};

// torchvision's _make_divisible(v, 8): the nearest multiple of 8, never 10 % below v.
int64_t make_divisible(double v) {
  int64_t rounded = std::max<int64_t>(8, static_cast<int64_t>(v + 4) / 8 * 8);
  return rounded < 0.9 * v ? rounded + 8 : rounded;
}

// A Sequential that can sit inside another (AnyModule needs a non-template forward).
class LayersImpl : public tnn::SequentialImpl {
 public:
  using tnn::SequentialImpl::SequentialImpl;
  at::Tensor forward(const at::Tensor& x) { return tnn::SequentialImpl::forward(x); }
};
TORCH_MODULE(Layers);

class InvertedResidualImpl : public tnn::Module {
 public:
  InvertedResidualImpl(tnn::Sequential layers, bool residual)
      : conv(register_module("conv", std::move(layers))), residual_(residual) {}
  at::Tensor forward(const at::Tensor& x) { return residual_ ? x + conv->forward(x) : conv->forward(x); }

  tnn::Sequential conv;

 private:
  bool residual_;
};
TORCH_MODULE(InvertedResidual);

}  // namespace

MobileNetV2Impl::MobileNetV2Impl(double width_mult, int64_t stages) {
  features = register_module("features", tnn::Sequential());
  auto conv = [&](int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t groups) {
    convs_.push_back({in, out, kernel, stride, groups});
    return tnn::Conv2d(
        tnn::Conv2dOptions(in, out, kernel).stride(stride).padding((kernel - 1) / 2).groups(groups).bias(false));
  };
  // torchvision's Conv2dNormActivation: conv, BatchNorm, ReLU6 as children 0, 1, 2.
  auto conv_bn_relu = [&](int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t groups) {
    return Layers(conv(in, out, kernel, stride, groups), tnn::BatchNorm2d(out), tnn::ReLU6());
  };

  int64_t channels = make_divisible(32 * width_mult), halvings = 1;
  auto end_stage = [&] {
    stage_end_.push_back(features->size() - 1);
    stage_channels_.push_back(channels);
    stage_halvings_.push_back(halvings);
  };
  features->push_back(conv_bn_relu(3, channels, 3, 2, 1));
  residual_.push_back(false);
  end_stage();
  for (int64_t s = 0; s < stages; ++s) {
    const StageRow& row = kStages[s];
    const int64_t out = make_divisible(row.c * width_mult);
    for (int64_t i = 0; i < row.n; ++i) {
      const int64_t stride = i == 0 ? row.s : 1, hidden = channels * row.t;
      tnn::Sequential layers;
      if (row.t != 1) layers->push_back(conv_bn_relu(channels, hidden, 1, 1, 1));
      layers->push_back(conv_bn_relu(hidden, hidden, 3, stride, hidden));
      layers->push_back(conv(hidden, out, 1, 1, 1));
      layers->push_back(tnn::BatchNorm2d(out));
      residual_.push_back(stride == 1 && channels == out);
      features->push_back(InvertedResidual(layers, residual_.back()));
      channels = out;
      if (stride == 2) ++halvings;
    }
    end_stage();
  }
  for (auto& module : modules(/*include_self=*/false))
    if (auto* c = module->as<tnn::Conv2d>()) tnn::init::kaiming_normal_(c->weight, 0, torch::kFanOut);
}

std::vector<at::Tensor> MobileNetV2Impl::forward(const at::Tensor& x, const std::vector<int64_t>& taps) {
  std::vector<at::Tensor> out;
  at::Tensor h = x;
  size_t index = 0;
  for (auto& layer : *features) {
    if (out.size() == taps.size()) break;
    h = layer.forward(h);
    if (index++ == stage_end_.at(taps[out.size()])) out.push_back(h);
  }
  return out;
}

int64_t MobileNetV2Impl::stage_side(int64_t stage, int64_t input_side) const {
  int64_t side = input_side;
  for (int64_t k = 0; k < stage_halvings_.at(stage); ++k) side = (side + 1) / 2;
  return side;
}

int64_t MobileNetV2Impl::multiply_accumulates(int64_t input_side) const {
  int64_t macs = 0, side = input_side;
  for (const Conv& c : convs_) {
    if (c.stride == 2) side = (side + 1) / 2;  // k3 p1 and k1 p0 alike: ceil(side / stride)
    macs += side * side * c.out * (c.in / c.groups) * c.kernel * c.kernel;
  }
  return macs;
}

weights::LoadReport MobileNetV2Impl::load_torchvision(const weights::NamedTensors& tensors, const std::string& source) {
  const size_t kept = features->size();
  weights::LoadOptions options;
  options.key_map = [kept](const std::string& key) -> std::optional<std::string> {
    if (key.starts_with("classifier.")) return std::nullopt;
    if (key.starts_with("features.") && key.size() > 9 && std::isdigit(static_cast<unsigned char>(key[9])) &&
        std::stoul(key.substr(9)) >= kept)
      return std::nullopt;  // past the truncation
    return key;
  };
  return weights::load_into(*this, tensors, options, source);
}

}  // namespace loom

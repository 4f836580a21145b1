#include "losses/perceptual/feature_backbone.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/ops/conv2d.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/max_pool2d.h>
#include <ATen/ops/normal.h>
#include <ATen/ops/relu.h>
#include <ATen/ops/zeros.h>

#include <cctype>
#include <cmath>
#include <map>

#include "core/text/cat.h"

namespace loom::perceptual {

namespace {

using Kind = FeatureLayer::Kind;

// torchvision's make_layers: 3x3 convs (padding 1) with a ReLU each; 0 is a 2x2 max-pool, stride 2.
std::vector<FeatureLayer> vgg_layers(const std::vector<int64_t>& config) {
  std::vector<FeatureLayer> layers;
  int64_t in = 3, block = 1, n = 1;
  for (int64_t width : config) {
    if (width == 0) {
      layers.push_back({Kind::max_pool, cat("pool", block), 0, 0, 2, 2, 0});
      ++block;
      n = 1;
      continue;
    }
    layers.push_back({Kind::conv, cat("conv", block, "_", n), in, width, 3, 1, 1});
    layers.push_back({Kind::relu, cat("relu", block, "_", n)});
    in = width;
    ++n;
  }
  return layers;
}

std::vector<FeatureLayer> alexnet_layers() {
  const auto conv = [](int i, int64_t in, int64_t out, int64_t k, int64_t s, int64_t p) {
    return FeatureLayer{Kind::conv, cat("conv", i), in, out, k, s, p};
  };
  const auto relu = [](int i) { return FeatureLayer{Kind::relu, cat("relu", i)}; };
  const auto pool = [](int i) { return FeatureLayer{Kind::max_pool, cat("pool", i), 0, 0, 3, 2, 0}; };
  return {conv(1, 3, 64, 11, 4, 2),
          relu(1),
          pool(1),
          conv(2, 64, 192, 5, 1, 2),
          relu(2),
          pool(2),
          conv(3, 192, 384, 3, 1, 1),
          relu(3),
          conv(4, 384, 256, 3, 1, 1),
          relu(4),
          conv(5, 256, 256, 3, 1, 1),
          relu(5),
          pool(3)};
}

// A module holding one conv's parameters under torchvision's names (`weight`, `bias`).
struct ConvParams : torch::nn::Module {
  ConvParams(at::Tensor w, at::Tensor b) {
    weight = register_parameter("weight", std::move(w));
    bias = register_parameter("bias", std::move(b));
  }
  at::Tensor weight, bias;
};

// torchvision's initialisation of one conv, drawn from `gen`.
std::pair<at::Tensor, at::Tensor> initial_conv(BackboneArch arch, const FeatureLayer& l, at::Generator& gen) {
  const std::vector<int64_t> shape{l.out_channels, l.in_channels, l.kernel, l.kernel};
  const auto f32 = at::TensorOptions().dtype(at::kFloat);
  if (arch == BackboneArch::alexnet) {
    // nn.Conv2d.reset_parameters: kaiming_uniform(a = sqrt(5)) and a bias of the same bound, 1/sqrt(fan_in).
    const double bound = 1.0 / std::sqrt(static_cast<double>(l.in_channels * l.kernel * l.kernel));
    return {at::empty(shape, f32).uniform_(-bound, bound, gen),
            at::empty({l.out_channels}, f32).uniform_(-bound, bound, gen)};
  }
  // VGG._initialize_weights: kaiming_normal_(mode="fan_out", nonlinearity="relu"), bias 0.
  const double std = std::sqrt(2.0 / static_cast<double>(l.out_channels * l.kernel * l.kernel));
  return {at::normal(0.0, std, shape, gen, f32), at::zeros({l.out_channels}, f32)};
}

// The slice (1-based) a features index belongs to: the first tap at or after it.
int64_t slice_of(const std::vector<int64_t>& taps, int64_t index) {
  for (size_t k = 0; k < taps.size(); ++k)
    if (index <= taps[k]) return static_cast<int64_t>(k) + 1;
  return 0;
}

}  // namespace

std::optional<BackboneArch> parse_arch(const std::string& name) {
  if (name == "vgg16") return BackboneArch::vgg16;
  if (name == "vgg19") return BackboneArch::vgg19;
  if (name == "alexnet") return BackboneArch::alexnet;
  return std::nullopt;
}

std::string arch_name(BackboneArch arch) {
  switch (arch) {
    case BackboneArch::vgg16:
      return "vgg16";
    case BackboneArch::vgg19:
      return "vgg19";
    case BackboneArch::alexnet:
      return "alexnet";
  }
  return "";
}

std::string arch_title(BackboneArch arch) {
  switch (arch) {
    case BackboneArch::vgg16:
      return "VGG16";
    case BackboneArch::vgg19:
      return "VGG19";
    case BackboneArch::alexnet:
      return "AlexNet";
  }
  return "";
}

const std::vector<FeatureLayer>& feature_layers(BackboneArch arch) {
  static const std::map<BackboneArch, std::vector<FeatureLayer>> stacks{
      {BackboneArch::vgg16, vgg_layers({64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0})},
      {BackboneArch::vgg19,
       vgg_layers({64, 64, 0, 128, 128, 0, 256, 256, 256, 256, 0, 512, 512, 512, 512, 0, 512, 512, 512, 512, 0})},
      {BackboneArch::alexnet, alexnet_layers()}};
  return stacks.at(arch);
}

std::optional<int64_t> find_tap(BackboneArch arch, const std::string& tap) {
  const auto& layers = feature_layers(arch);
  if (!tap.empty() && tap.find_first_not_of("0123456789") == std::string::npos && tap.size() < 4) {
    const int64_t index = std::stoll(tap);
    if (index < static_cast<int64_t>(layers.size())) return index;
    return std::nullopt;
  }
  for (size_t i = 0; i < layers.size(); ++i)
    if (layers[i].name == tap) return static_cast<int64_t>(i);
  return std::nullopt;
}

FeatureBackboneImpl::FeatureBackboneImpl(BackboneArch arch, std::vector<int64_t> taps, uint64_t seed)
    : arch_(arch), taps_(std::move(taps)) {
  const auto& layers = feature_layers(arch);
  TORCH_CHECK(!taps_.empty() && taps_.back() < static_cast<int64_t>(layers.size()),
              "FeatureBackbone: taps must be non-empty features indices of ", arch_title(arch));
  for (size_t k = 1; k < taps_.size(); ++k)
    TORCH_CHECK(taps_[k - 1] < taps_[k], "FeatureBackbone: taps must be strictly increasing");
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  std::vector<std::shared_ptr<torch::nn::Module>> slices;
  for (size_t k = 0; k < taps_.size(); ++k)
    slices.push_back(register_module(cat("slice", k + 1), std::make_shared<torch::nn::Module>()));
  for (int64_t i = 0; i <= taps_.back(); ++i) {
    const FeatureLayer& layer = layers[static_cast<size_t>(i)];
    Step step{&layer, {}, {}};
    if (layer.kind == Kind::conv) {
      auto [w, b] = initial_conv(arch, layer, gen);
      auto conv = std::make_shared<ConvParams>(std::move(w), std::move(b));
      slices[static_cast<size_t>(slice_of(taps_, i) - 1)]->register_module(std::to_string(i), conv);
      step.weight = conv->weight;
      step.bias = conv->bias;
    }
    steps_.push_back(std::move(step));
  }
}

std::vector<at::Tensor> FeatureBackboneImpl::forward(const at::Tensor& x) const {
  std::vector<at::Tensor> out;
  at::Tensor h = x;
  size_t next_tap = 0;
  for (size_t i = 0; i < steps_.size(); ++i) {
    const FeatureLayer& l = *steps_[i].layer;
    switch (l.kind) {
      case Kind::conv:
        h = at::conv2d(h, steps_[i].weight, steps_[i].bias, l.stride, l.padding);
        break;
      case Kind::relu:
        h = at::relu(h);
        break;
      case Kind::max_pool:
        h = at::max_pool2d(h, l.kernel, l.stride);
        break;
    }
    if (static_cast<int64_t>(i) == taps_[next_tap]) {
      out.push_back(h);
      ++next_tap;
    }
  }
  return out;
}

int64_t FeatureBackboneImpl::min_input_size() const {
  const auto fits = [this](int64_t side) {
    for (const Step& step : steps_) {
      const FeatureLayer& l = *step.layer;
      if (l.kind == Kind::relu) continue;
      const int64_t padded = side + 2 * l.padding;
      if (padded < l.kernel) return false;
      side = (padded - l.kernel) / l.stride + 1;
    }
    return true;
  };
  int64_t side = 1;
  while (!fits(side)) ++side;
  return side;
}

void FeatureBackboneImpl::load(const weights::NamedTensors& tensors, const std::string& source) {
  const int64_t last = taps_.back();
  weights::LoadOptions options;
  options.key_map = [this, last](const std::string& key) -> std::optional<std::string> {
    const bool lpips_head = key.starts_with("lins.") || (key.size() > 3 && key.starts_with("lin") &&
                                                         std::isdigit(static_cast<unsigned char>(key[3])));
    if (key.starts_with("classifier.") || key.starts_with("scaling_layer.") || lpips_head) return std::nullopt;
    if (key.starts_with("net.")) return key.substr(4);
    if (key.starts_with("features.")) {
      const std::string rest = key.substr(9);
      const size_t dot = rest.find('.');
      const std::string index = rest.substr(0, dot);
      if (dot == std::string::npos || index.empty() || index.size() > 4 ||
          index.find_first_not_of("0123456789") != std::string::npos)
        return key;
      const int64_t i = std::stoll(index);
      if (i > last) return std::nullopt;  // past the last tap: this stack stops earlier
      return cat("slice", slice_of(taps_, i), ".", rest);
    }
    return key;
  };
  weights::load_into(*this, tensors, options, source);
}

}  // namespace loom::perceptual

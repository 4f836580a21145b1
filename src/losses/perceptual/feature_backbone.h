#pragma once
// The convolutional stacks perceptual losses read features from: torchvision's `features` of VGG16,
// VGG19 and AlexNet (convs, ReLUs and max-pools in torchvision's order, so layer i here is
// `features[i]` there), cut after the last tap and split into slices ending at each tap the way
// lpips/pretrained_networks.py does. ReLUs are not in place: every tap keeps its own tensor.
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/io/weights.h"

namespace loom::perceptual {

enum class BackboneArch { vgg16, vgg19, alexnet };

// "vgg16" | "vgg19" | "alexnet"; nullopt for anything else.
std::optional<BackboneArch> parse_arch(const std::string& name);
std::string arch_name(BackboneArch arch);   // "vgg16", ...
std::string arch_title(BackboneArch arch);  // "VGG16", ... for messages

// One layer of torchvision's `features`. Names: VGG conv{block}_{n}, relu{block}_{n}, pool{block};
// AlexNet conv1..conv5, relu1..relu5, pool1..pool3.
struct FeatureLayer {
  enum class Kind { conv, relu, max_pool } kind;
  std::string name;
  int64_t in_channels = 0, out_channels = 0;  // convs
  int64_t kernel = 0, stride = 1, padding = 0;
};

// The whole stack; element i is torchvision's features[i].
const std::vector<FeatureLayer>& feature_layers(BackboneArch arch);

// A tap spelled as a layer name ("relu3_3") or a features index ("15"); nullopt when the stack has
// no such layer.
std::optional<int64_t> find_tap(BackboneArch arch, const std::string& tap);

class FeatureBackboneImpl : public torch::nn::Module {
 public:
  // `taps`: strictly increasing features indices. Conv weights start as torchvision initialises them
  // (VGG: kaiming_normal fan_out/relu, bias 0; AlexNet: nn.Conv2d's defaults, uniform ±1/sqrt(fan_in)),
  // drawn from a CPU generator seeded with `seed`, so the same seed gives the same network anywhere.
  // Parameters are named slice{k}.{i}.weight/bias (k = 1-based tap, i = features index).
  FeatureBackboneImpl(BackboneArch arch, std::vector<int64_t> taps, uint64_t seed);

  // The activations after each tap, in tap order.
  std::vector<at::Tensor> forward(const at::Tensor& x) const;

  // Copies a torchvision state dict (`features.{i}.weight/bias`; `classifier.*` and layers past the
  // last tap are skipped) or one in this module's names, bare or under "net." (an lpips state dict,
  // whose `lin{k}.*`, `lins.*` and `scaling_layer.*` entries are skipped). Strict otherwise: UserError from
  // weights::load_into naming `source` on a missing, unexpected or misshapen tensor.
  void load(const weights::NamedTensors& tensors, const std::string& source);

  // The smallest image side for which every tap still has a pixel (LPIPS-VGG 16, AlexNet 31).
  int64_t min_input_size() const;

  BackboneArch arch() const { return arch_; }
  const std::vector<int64_t>& taps() const { return taps_; }

 private:
  struct Step {
    const FeatureLayer* layer;
    at::Tensor weight, bias;  // convs only (aliases of the registered parameters)
  };

  BackboneArch arch_;
  std::vector<int64_t> taps_;
  std::vector<Step> steps_;  // features[0 .. last tap]
};
TORCH_MODULE(FeatureBackbone);

}  // namespace loom::perceptual

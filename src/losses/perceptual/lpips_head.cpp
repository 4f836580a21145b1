#include "losses/perceptual/lpips_head.h"

#include <ATen/ops/tensor.h>
#include <ATen/ops/zeros.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <map>

#include "core/error.h"
#include "core/log.h"
#include "core/text/cat.h"
#include "core/text/join.h"

namespace loom::perceptual {

namespace {

// Holds one tensor under the name `weight`, so nesting gives `model.1.weight`.
struct WeightHolder : torch::nn::Module {
  explicit WeightHolder(at::Tensor w) { weight = register_parameter("weight", std::move(w)); }
  at::Tensor weight;
};

std::vector<int64_t> head_channels(BackboneArch arch) {
  std::vector<int64_t> channels;
  for (int64_t tap : lpips_taps(arch)) channels.push_back(tap_channels(arch, tap));
  return channels;
}

std::string lpips_net_name(BackboneArch arch) { return arch == BackboneArch::alexnet ? "alex" : "vgg"; }

}  // namespace

std::vector<int64_t> lpips_taps(BackboneArch arch) {
  if (arch == BackboneArch::alexnet) return {1, 4, 7, 9, 11};
  TORCH_CHECK(arch == BackboneArch::vgg16, "LPIPS has heads for VGG16 and AlexNet only");
  return {3, 8, 15, 22, 29};
}

int64_t tap_channels(BackboneArch arch, int64_t tap) {
  const auto& layers = feature_layers(arch);
  for (int64_t i = tap; i >= 0; --i)
    if (layers[static_cast<size_t>(i)].kind == FeatureLayer::Kind::conv)
      return layers[static_cast<size_t>(i)].out_channels;
  return 3;  // a pool before any conv sees the image
}

ScalingLayerImpl::ScalingLayerImpl() {
  shift_ = register_buffer("shift", at::tensor({-.030f, -.088f, -.188f}).view({1, 3, 1, 1}));
  scale_ = register_buffer("scale", at::tensor({.458f, .448f, .450f}).view({1, 3, 1, 1}));
}

at::Tensor ScalingLayerImpl::forward(const at::Tensor& x) const { return (x - shift_) / scale_; }

LinLayerImpl::LinLayerImpl(int64_t channels) {
  auto model = register_module("model", std::make_shared<torch::nn::Module>());
  auto conv = model->register_module("1", std::make_shared<WeightHolder>(at::zeros({1, channels, 1, 1})));
  weight_ = conv->weight;
}

void load_lpips_heads(const std::vector<LinLayer>& lins, BackboneArch arch, const std::string& path,
                      const std::string& key) {
  const std::string where = cat(key, ": ", path);
  weights::NamedTensors file;
  try {
    file = weights::read(path);
  } catch (const UserError& e) {
    throw UserError(cat(key, ": ", e.what(), " (scripts/convert_lpips.py heads re-saves the lpips package's ",
                        "lpips/weights/v0.1/", lpips_net_name(arch), ".pth as safetensors)"));
  }
  std::map<std::string, at::Tensor> by_name(file.begin(), file.end());
  std::vector<std::string> unknown, missing, renamed;
  for (const auto& [name, tensor] : file) {
    const bool ignored = name.starts_with("scaling_layer.") || name.starts_with("net.") || name.starts_with("lins.");
    bool known = false;
    for (size_t k = 0; k < lins.size(); ++k)
      known = known || name == cat("lin", k, ".model.1.weight") || name == cat("lin", k, ".model.0.weight");
    if (!ignored && !known) unknown.push_back(name);
  }
  if (!unknown.empty())
    throw UserError(cat(where, ": not an LPIPS-", lpips_net_name(arch), " head file: unexpected keys ",
                        join(unknown, ", "), " (expected lin0..lin", lins.size() - 1, ".model.1.weight)"));

  const std::vector<int64_t> channels = head_channels(arch);
  const BackboneArch other = arch == BackboneArch::alexnet ? BackboneArch::vgg16 : BackboneArch::alexnet;
  std::vector<at::Tensor> heads;
  for (size_t k = 0; k < lins.size(); ++k) {
    auto it = by_name.find(cat("lin", k, ".model.1.weight"));
    if (it == by_name.end()) {
      it = by_name.find(cat("lin", k, ".model.0.weight"));
      if (it != by_name.end()) renamed.push_back(it->first);
    }
    if (it == by_name.end()) {
      missing.push_back(cat("lin", k, ".model.1.weight"));
      continue;
    }
    const std::vector<int64_t> want{1, channels[k], 1, 1};
    if (it->second.sizes() != at::IntArrayRef(want)) {
      const bool fits_other = it->second.dim() == 4 && it->second.size(1) == head_channels(other)[k];
      throw UserError(cat(where, ": ", it->first, " has shape ", it->second.sizes(), " but LPIPS-",
                          lpips_net_name(arch), " needs ", at::IntArrayRef(want),
                          fits_other ? cat(": this is the head file of LPIPS-", lpips_net_name(other),
                                           " (set net: ", lpips_net_name(other), ")")
                                     : std::string()));
    }
    heads.push_back(it->second);
  }
  if (!missing.empty()) throw UserError(cat(where, ": the LPIPS head file lacks ", join(missing, ", ")));
  if (!renamed.empty())
    LOOM_WARN(where, ": read ", join(renamed, ", "), " as lin{k}.model.1.weight (a state dict of ",
              "LPIPS(use_dropout=False), whose conv is model.0; the package would not load these under strict=False)");
  torch::NoGradGuard no_grad;
  for (size_t k = 0; k < lins.size(); ++k) lins[k]->weight().copy_(heads[k]);
}

}  // namespace loom::perceptual

#pragma once
// The parts of lpips 0.1.4 (lpips/lpips.py) around the backbone, under the package's state_dict names:
// ScalingLayer (`scaling_layer.shift`, `scaling_layer.scale`) and the learned 1x1 heads
// (`lin{k}.model.1.weight`), with the loading of the package's head weights.
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <string>
#include <vector>

#include "losses/perceptual/feature_backbone.h"

namespace loom::perceptual {

// LPIPS's taps (features indices): VGG16 relu1_2, relu2_2, relu3_3, relu4_3, relu5_3; AlexNet relu1..5.
std::vector<int64_t> lpips_taps(BackboneArch arch);
// Channels of the activation after features[tap] (the last conv's width at or before it).
int64_t tap_channels(BackboneArch arch, int64_t tap);

// (x - shift) / scale with buffers [1, 3, 1, 1], shift (-.030, -.088, -.188), scale (.458, .448, .450).
// These are ImageNet's mean and std carried to images in [-1, 1] (shift = 2 mean - 1, scale = 2 std), so
// the VGG19 content/style loss, which normalises (x + 1) / 2 with ImageNet's statistics, uses it too.
class ScalingLayerImpl : public torch::nn::Module {
 public:
  ScalingLayerImpl();
  at::Tensor forward(const at::Tensor& x) const;

 private:
  at::Tensor shift_, scale_;
};
TORCH_MODULE(ScalingLayer);

// NetLinLayer(C, use_dropout=True): Sequential(Dropout, Conv2d(C, 1, 1, bias=False)), so its one tensor is
// `model.1.weight` [1, C, 1, 1]. The dropout is the identity in eval mode, the only mode a loss runs in.
class LinLayerImpl : public torch::nn::Module {
 public:
  explicit LinLayerImpl(int64_t channels);
  // The channel weights as [C], for perceptual_distance.
  at::Tensor channel_weights() const { return weight_.view({-1}); }
  const at::Tensor& weight() const { return weight_; }

 private:
  at::Tensor weight_;
};
TORCH_MODULE(LinLayer);

// Copies lin0..lin{L-1} from `path` (safetensors or torch.save zip; scripts/convert_lpips.py re-saves the
// package's legacy-format lpips/weights/v0.1/{vgg,alex}.pth). `lin{k}.model.0.weight`, the name the
// package gives the same conv when built with use_dropout=False, is accepted and renamed with a warning
// (the package itself would skip such keys under strict=False and silently keep random heads).
// The `scaling_layer.*`, `net.*` and `lins.*` entries of a whole lpips state dict are ignored (`lins.{k}`
// is the package's ModuleList of the same heads, so its state_dict lists each head twice). UserError naming `key`
// and the file: a missing head, an unknown key, or a shape that is not this backbone's (with the
// backbone it does fit, when one does).
void load_lpips_heads(const std::vector<LinLayer>& lins, BackboneArch arch, const std::string& path,
                      const std::string& key);

}  // namespace loom::perceptual

#pragma once
// One frozen perceptual loss with three settings (PerceptualLossOptions::kind):
//   lpips      lpips 0.1.4 for version 0.1, exactly: ScalingLayer, VGG16 (relu1_2 .. relu5_3) or AlexNet
//              (relu1 .. relu5), unit-normalised channels, squared difference, learned 1x1 heads, spatial
//              mean, summed over layers. State dict names are the package's (`scaling_layer.*`,
//              `net.slice{k}.{i}.*`, `lin{k}.model.1.weight` and its `lins.{k}` aliases), so a saved
//              lpips.LPIPS state dict loads as is.
//   vgg_l1     MobileStyleGAN (core/loss/perceptual_loss.py): torchvision VGG16 features after relu1_2,
//              relu2_2, relu3_3, relu4_3 (indices 3/8/15/22) of the [-1, 1] image as is, L1 per layer, summed.
//   vgg_style  MediaPipe's VGGPerceptualLoss (model_maker/python/core/utils/loss_functions.py): (x + 1) / 2
//              normalised with ImageNet's mean/std, VGG19, per tap content mean|φx − φt| and style
//              mean|G(φx) − G(φt)| with G = F Fᵀ / (C H W), each tap weighted (.1, .1, 1, 1, 1), then
//              content_weight · Σ content + style_weight · Σ style. MediaPipe's extractor is a downloaded
//              Keras model whose five layers its source does not name; the default taps here are
//              relu1_1, relu2_1, relu3_1, relu4_1, relu5_1 (Gatys et al.'s style layers).
// Images are [N, 3, H, W] in [-1, 1]; one with a side above max_size is first shrunk bilinearly
// (align_corners false) so its longer side is max_size (CAGC and Anycost compare at 256). The module is
// frozen: eval mode, no parameter requires grad; gradients flow to the inputs. A target that does not
// require grad goes through the backbone without autograd.
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <string>
#include <vector>

#include "losses/perceptual/feature_backbone.h"
#include "losses/perceptual/lpips_head.h"
#include "losses/perceptual/perceptual_loss_options.h"

namespace loom {

class PerceptualLossImpl : public torch::nn::Module {
 public:
  // `path` is the options' config key, for messages. ConfigError on settings that do not fit together
  // (an unknown tap, a layer_weights count that is not the taps', lpips without head_weights, ...);
  // UserError naming the key and the file on weight files that do not fit.
  PerceptualLossImpl(const PerceptualLossOptions& options, const std::string& path);

  // Per sample [N] (lpips with spatial: [N, 1, H, W] at the compared size), the sum of per_layer.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& target);
  // Each tap's weighted term, [N] (or [N, 1, H, W]).
  std::vector<at::Tensor> per_layer(const at::Tensor& x, const at::Tensor& target);
  // The target's side once, for targets compared many times (few-shot style images): one tensor per
  // tap, computed without autograd; rows select with index_select like the images they came from.
  std::vector<at::Tensor> target_features(const at::Tensor& target);
  at::Tensor forward(const at::Tensor& x, const std::vector<at::Tensor>& target_features);
  std::vector<at::Tensor> per_layer(const at::Tensor& x, const std::vector<at::Tensor>& target_features);

  // "lpips_vgg", "lpips_alex_random_backbone", "lpips_baseline_vgg", "vgg_l1", "vgg_style_random_backbone",
  // "vgg_l1_vgg19", ...: a random backbone says so, like eval's fallback feature extractor, because its
  // numbers are on their own scale.
  std::string metric_name() const;
  bool random_backbone() const { return options_.backbone_weights.empty(); }
  // The smallest image side the backbone reaches its last tap with (LPIPS-VGG and VGG19 relu5_1 16,
  // vgg_l1's relu4_3 8, AlexNet 31); smaller inputs are an error.
  int64_t min_input_size() const { return net_->min_input_size(); }
  const PerceptualLossOptions& options() const { return options_; }

 private:
  std::vector<at::Tensor> features(const at::Tensor& image) const;
  void check_input(const at::Tensor& x) const;  // [N, 3, H, W], large enough for the last tap

  PerceptualLossOptions options_;
  perceptual::BackboneArch arch_;
  std::vector<double> layer_weights_;
  bool style_all_taps_ = true;
  perceptual::ScalingLayer scaling_{nullptr};
  perceptual::FeatureBackbone net_{nullptr};
  std::vector<perceptual::LinLayer> lins_;
};
TORCH_MODULE(PerceptualLoss);

// Each student level image against `target` bilinearly resized to that level's size (align_corners
// false; without autograd when target does not require grad), through `loss` (which applies max_size):
// one [N] per level, for the caller to weight and sum.
std::vector<at::Tensor> multiscale_perceptual(PerceptualLossImpl& loss, const std::vector<at::Tensor>& levels,
                                              const at::Tensor& target);

}  // namespace loom

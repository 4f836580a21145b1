#pragma once
// Settings of the perceptual loss (losses/perceptual/perceptual_loss.h): LPIPS (CAGC, Anycost), VGG
// feature L1 (MobileStyleGAN) or VGG19 content + Gram style (MediaPipe face stylizer).
#include <cstdint>
#include <string>
#include <vector>

#include "core/config/config_schema.h"

namespace loom {

struct PerceptualLossOptions {
  std::string kind = "lpips";  // lpips | vgg_l1 | vgg_style
  // lpips: vgg | alex. vgg_l1 / vgg_style: vgg = the source's network (VGG16 / VGG19), or vgg16, vgg19, alex.
  std::string net = "vgg";
  bool lpips = true;             // lpips: false = the package's unweighted baseline (sum over channels, no head file)
  std::string backbone_weights;  // torchvision features file (safetensors); empty = seeded random backbone
  std::string head_weights;      // lpips: the package's lin heads, re-saved by scripts/convert_lpips.py
  std::vector<double> layer_weights;  // one per tap; default 1 (vgg_style: MediaPipe's .1, .1, 1, 1, 1)
  std::vector<std::string> taps;      // vgg_l1 / vgg_style: layer names ("relu3_3") or features indices
  int64_t max_size = 256;             // images with a side above this are bilinearly shrunk so the longer side fits
  bool spatial = false;               // lpips: per-pixel maps [N, 1, H, W] instead of [N]
  double content_weight = 1.0;        // vgg_style: the weights of the two terms (MediaPipe's PerceptualLossWeight)
  double style_weight = 1.0;
  std::string style_taps = "all";  // vgg_style: all | last (MediaPipe's code sums only the last tap's term)
  uint64_t seed = 0;               // the random backbone's initialisation

  template <class V>
  void visit(V& v) {
    v("kind", kind,
      {.help = "lpips | vgg_l1 (MobileStyleGAN) | vgg_style (MediaPipe content + Gram style)",
       .choices = {"lpips", "vgg_l1", "vgg_style"}});
    v("net", net,
      {.help = "lpips: vgg | alex; vgg_l1/vgg_style: vgg (VGG16 / VGG19), vgg16, vgg19 or alex",
       .choices = {"vgg", "alex", "vgg16", "vgg19"}});
    v("lpips", lpips, {.help = "lpips: learned heads (false = unweighted baseline, no head file)"});
    v("backbone_weights", backbone_weights,
      {.help = "torchvision backbone weights (scripts/convert_lpips.py backbone); empty = seeded random backbone"});
    v("head_weights", head_weights,
      {.help = "lpips heads (scripts/convert_lpips.py heads lpips/weights/v0.1/NET.pth)"});
    v("layer_weights", layer_weights, {.help = "weight of each tap (default 1; vgg_style .1, .1, 1, 1, 1)"});
    v("taps", taps, {.help = "vgg_l1/vgg_style layers, by name (relu3_3) or features index (15)"});
    v("max_size", max_size, {.help = "shrink inputs whose longer side exceeds this (0 = never)", .min = 0});
    v("spatial", spatial, {.help = "lpips: return per-pixel distance maps"});
    v("content_weight", content_weight, {.help = "vgg_style: weight of the feature L1 (content) term", .min = 0.0});
    v("style_weight", style_weight, {.help = "vgg_style: weight of the Gram L1 (style) term", .min = 0.0});
    v("style_taps", style_taps,
      {.help = "vgg_style: Gram term over all taps, or the last only (as MediaPipe's code computes it)",
       .choices = {"all", "last"}});
    v("seed", seed, {.help = "seed of the random backbone (used when backbone_weights is empty)"});
  }
};

}  // namespace loom

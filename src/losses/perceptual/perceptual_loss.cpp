#include "losses/perceptual/perceptual_loss.h"

#include <ATen/ops/ones.h>
#include <ATen/ops/upsample_bilinear2d.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/nn/modules/container/modulelist.h>

#include <algorithm>
#include <cmath>

#include "core/config/config_error.h"
#include "core/error.h"
#include "core/log.h"
#include "core/text/cat.h"
#include "core/text/did_you_mean.h"
#include "core/text/join.h"
#include "losses/perceptual/feature_distances.h"

namespace loom {

namespace {

using perceptual::BackboneArch;

[[noreturn]] void fail(const std::string& path, const std::string& key, const std::string& message) {
  throw ConfigError(cat(path.empty() ? key : cat(path, ".", key), ": ", message));
}

BackboneArch resolve_arch(const PerceptualLossOptions& o, const std::string& path) {
  if (o.kind == "lpips") {
    if (o.net == "vgg") return BackboneArch::vgg16;
    if (o.net == "alex") return BackboneArch::alexnet;
    fail(path, "net", cat("'", o.net, "' has no LPIPS heads; lpips offers vgg (VGG16) and alex"));
  }
  if (o.net == "alex") return BackboneArch::alexnet;
  if (o.net == "vgg16" || o.net == "vgg19") return *perceptual::parse_arch(o.net);
  return o.kind == "vgg_l1" ? BackboneArch::vgg16 : BackboneArch::vgg19;
}

std::vector<std::string> default_taps(const std::string& kind, BackboneArch arch) {
  if (arch == BackboneArch::alexnet) return {"relu1", "relu2", "relu3", "relu4", "relu5"};
  if (kind == "vgg_l1") return {"relu1_2", "relu2_2", "relu3_3", "relu4_3"};
  return {"relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"};
}

std::vector<int64_t> resolve_taps(const PerceptualLossOptions& o, BackboneArch arch, const std::string& path) {
  if (o.kind == "lpips") {
    if (!o.taps.empty()) fail(path, "taps", "lpips reads the package's fixed taps; taps are for vgg_l1 and vgg_style");
    return perceptual::lpips_taps(arch);
  }
  const std::vector<std::string> names = o.taps.empty() ? default_taps(o.kind, arch) : o.taps;
  std::vector<std::string> known;
  for (const auto& layer : perceptual::feature_layers(arch)) known.push_back(layer.name);
  std::vector<int64_t> taps;
  for (size_t i = 0; i < names.size(); ++i) {
    const auto tap = perceptual::find_tap(arch, names[i]);
    const std::string key = cat("taps[", i, "]");
    if (!tap)
      fail(path, key,
           cat("no layer '", names[i], "' in ", perceptual::arch_title(arch), did_you_mean(names[i], known),
               " (layers: ", join(known, ", "), "; or a features index 0..", known.size() - 1, ")"));
    if (!taps.empty() && *tap <= taps.back())
      fail(path, key, cat("'", names[i], "' is not after the tap before it: list taps in network order"));
    taps.push_back(*tap);
  }
  return taps;
}

std::vector<double> resolve_layer_weights(const PerceptualLossOptions& o, size_t taps, const std::string& path) {
  if (!o.layer_weights.empty()) {
    if (o.layer_weights.size() != taps)
      fail(path, "layer_weights", cat(o.layer_weights.size(), " weights for ", taps, " taps: give one per tap"));
    return o.layer_weights;
  }
  if (o.kind != "vgg_style") return std::vector<double>(taps, 1.0);
  if (taps != 5)
    fail(path, "layer_weights",
         cat("vgg_style with ", taps,
             " taps needs layer_weights, one per tap (MediaPipe's .1, .1, 1, 1, 1 are for five)"));
  return {0.1, 0.1, 1.0, 1.0, 1.0};  // VGGPerceptualLoss feature_weight
}

void check_kind_settings(const PerceptualLossOptions& o, const std::string& path) {
  const bool lpips = o.kind == "lpips";
  if (!lpips && o.spatial) fail(path, "spatial", "per-pixel maps are an lpips setting");
  if (!lpips && !o.head_weights.empty())
    fail(path, "head_weights", cat(o.kind, " has no learned heads; only lpips does"));
  if (lpips && o.lpips && o.head_weights.empty())
    fail(path, "head_weights",
         "LPIPS needs its learned heads: convert the lpips package's lpips/weights/v0.1/" + o.net +
             ".pth with scripts/convert_lpips.py heads and name the result here (or set lpips: false for the "
             "package's unweighted baseline)");
  if (lpips && !o.lpips && !o.head_weights.empty())
    fail(path, "head_weights", "the unweighted baseline (lpips: false) uses no head file");
}

// The size an image is compared at: shrunk so the longer side is max_size, aspect kept.
std::vector<int64_t> compared_size(int64_t h, int64_t w, int64_t max_size) {
  const int64_t longer = std::max(h, w);
  if (max_size == 0 || longer <= max_size) return {h, w};
  const double s = static_cast<double>(max_size) / static_cast<double>(longer);
  const auto side = [s](int64_t v) { return std::max<int64_t>(1, std::lround(static_cast<double>(v) * s)); };
  return {side(h), side(w)};
}

at::Tensor resized(const at::Tensor& image, at::IntArrayRef size) {
  if (image.size(2) == size[0] && image.size(3) == size[1]) return image;
  return at::upsample_bilinear2d(image, size, /*align_corners=*/false);
}

}  // namespace

PerceptualLossImpl::PerceptualLossImpl(const PerceptualLossOptions& options, const std::string& path)
    : options_(options) {
  check_kind_settings(options, path);
  arch_ = resolve_arch(options, path);
  const std::vector<int64_t> taps = resolve_taps(options, arch_, path);
  layer_weights_ = resolve_layer_weights(options, taps.size(), path);
  style_all_taps_ = options.style_taps == "all";

  if (options.kind != "vgg_l1") scaling_ = register_module("scaling_layer", perceptual::ScalingLayer());
  net_ = register_module("net", perceptual::FeatureBackbone(arch_, taps, options.seed));
  if (options.kind == "lpips" && options.lpips) {
    torch::nn::ModuleList aliases;
    for (size_t k = 0; k < taps.size(); ++k) {
      lins_.push_back(register_module(cat("lin", k), perceptual::LinLayer(perceptual::tap_channels(arch_, taps[k]))));
      aliases->push_back(lins_.back());
    }
    register_module("lins", aliases);  // the package's nn.ModuleList of the same heads
    perceptual::load_lpips_heads(lins_, arch_, options.head_weights, cat(path, ".head_weights"));
  }
  if (!options.backbone_weights.empty()) {
    const std::string key = cat(path, ".backbone_weights");
    try {
      net_->load(weights::read(options.backbone_weights), options.backbone_weights);
    } catch (const UserError& e) {
      throw UserError(cat(key, ": ", e.what(), " (expected torchvision's ", perceptual::arch_title(arch_),
                          " features, features.{i}.weight/bias; scripts/convert_lpips.py backbone re-saves ",
                          "torchvision's .pth files, e.g. vgg16-397923af.pth, as safetensors)"));
    }
  } else {
    LOOM_WARN(path, ": no backbone_weights, so the ", perceptual::arch_title(arch_), " backbone is random (seed ",
              options.seed, "); its values are reported as ", metric_name(),
              " and are not comparable to published ones");
  }
  for (auto& p : parameters()) p.requires_grad_(false);
  eval();
}

std::vector<at::Tensor> PerceptualLossImpl::features(const at::Tensor& image) const {
  const at::Tensor x = resized(image, compared_size(image.size(2), image.size(3), options_.max_size));
  return net_->forward(scaling_ ? scaling_->forward(x) : x);
}

void PerceptualLossImpl::check_input(const at::Tensor& x) const {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == 3, "PerceptualLoss: images must be [N, 3, H, W], got ", x.sizes());
  const std::vector<int64_t> size = compared_size(x.size(2), x.size(3), options_.max_size);
  TORCH_CHECK(std::min(size[0], size[1]) >= min_input_size(), "PerceptualLoss (", metric_name(),
              "): images must be at least ", min_input_size(), " px on each side for its last tap, got ", size[0], "x",
              size[1]);
}

std::vector<at::Tensor> PerceptualLossImpl::per_layer(const at::Tensor& x, const at::Tensor& target) {
  TORCH_CHECK(x.sizes() == target.sizes(), "PerceptualLoss: x and target must be alike [N, 3, H, W] images, got ",
              x.sizes(), " and ", target.sizes());
  if (target.requires_grad()) {
    check_input(target);
    return per_layer(x, features(target));
  }
  return per_layer(x, target_features(target));
}

std::vector<at::Tensor> PerceptualLossImpl::target_features(const at::Tensor& target) {
  check_input(target);
  torch::NoGradGuard no_grad;  // the cheap path: no graph through the target's backbone pass
  return features(target);
}

std::vector<at::Tensor> PerceptualLossImpl::per_layer(const at::Tensor& x, const std::vector<at::Tensor>& ft) {
  check_input(x);
  const std::vector<int64_t> size = compared_size(x.size(2), x.size(3), options_.max_size);
  const std::vector<at::Tensor> fx = features(x);
  TORCH_CHECK(ft.size() == fx.size(), "PerceptualLoss: ", ft.size(), " target features for ", fx.size(), " taps");
  std::vector<at::Tensor> terms;
  for (size_t k = 0; k < fx.size(); ++k) {
    TORCH_CHECK(fx[k].sizes() == ft[k].sizes(), "PerceptualLoss: tap ", k, " of the image is ", fx[k].sizes(),
                ", of the target ", ft[k].sizes());
    at::Tensor term;
    if (options_.kind == "lpips") {
      const at::Tensor w = lins_.empty() ? at::ones({fx[k].size(1)}, fx[k].options()) : lins_[k]->channel_weights();
      term = options_.spatial ? perceptual::lpips_layer_map(fx[k], ft[k], w, size)
                              : perceptual::lpips_layer_distance(fx[k], ft[k], w);
    } else {
      term = perceptual::feature_l1(fx[k], ft[k]);
      if (options_.kind == "vgg_style") {
        term = term * options_.content_weight;
        if (style_all_taps_ || k + 1 == fx.size())
          term = term + perceptual::gram_l1(fx[k], ft[k]) * options_.style_weight;
      }
    }
    terms.push_back(layer_weights_[k] == 1.0 ? term : term * layer_weights_[k]);
  }
  return terms;
}

namespace {

at::Tensor summed(const std::vector<at::Tensor>& terms) {
  at::Tensor total = terms[0];
  for (size_t k = 1; k < terms.size(); ++k) total = total + terms[k];
  return total;
}

}  // namespace

at::Tensor PerceptualLossImpl::forward(const at::Tensor& x, const at::Tensor& target) {
  return summed(per_layer(x, target));
}

at::Tensor PerceptualLossImpl::forward(const at::Tensor& x, const std::vector<at::Tensor>& target_features) {
  return summed(per_layer(x, target_features));
}

std::string PerceptualLossImpl::metric_name() const {
  std::string name;
  if (options_.kind == "lpips") {
    name = cat(options_.lpips ? "lpips_" : "lpips_baseline_", options_.net);
  } else {
    const BackboneArch usual = options_.kind == "vgg_l1" ? BackboneArch::vgg16 : BackboneArch::vgg19;
    name = arch_ == usual ? options_.kind : cat(options_.kind, "_", perceptual::arch_name(arch_));
  }
  return random_backbone() ? name + "_random_backbone" : name;
}

std::vector<at::Tensor> multiscale_perceptual(PerceptualLossImpl& loss, const std::vector<at::Tensor>& levels,
                                              const at::Tensor& target) {
  std::vector<at::Tensor> out;
  for (const at::Tensor& level : levels) {
    TORCH_CHECK(level.dim() == 4, "multiscale_perceptual: levels must be [N, 3, H, W], got ", level.sizes());
    out.push_back(loss.forward(level, resized(target, {level.size(2), level.size(3)})));
  }
  return out;
}

}  // namespace loom

#pragma once
// The CLIP image tower (open_clip `VisionTransformer`, parameter names under `visual.`): a patch conv
// without bias (`conv1`), an optional class token (`class_embedding`, first in the sequence), learned
// `positional_embedding`, `ln_pre`, pre-LN `transformer`, `ln_post` on every token, pooling (class
// token or average) and the right-multiplied projection `proj` [width, output_dim].
//
// Without a class token and with average pooling this is RO-ViT's image tower; its cropped positional
// embeddings (nn/cropped_positional_embedding.h) replace the patch rows of the PE when enabled.
#include <cstdint>
#include <string>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "core/config/config_schema.h"
#include "nn/cropped_positional_embedding.h"
#include "nn/mlp.h"
#include "nn/transformer.h"

namespace loom {

struct VisionTransformerOptions {
  int64_t image_size = 224;
  int64_t patch_size = 32;
  int64_t width = 768;
  int64_t layers = 12;
  int64_t heads = 12;  // open_clip: width / head_width (64)
  double mlp_ratio = 4.0;
  std::string act = "gelu";
  double ln_eps = 1e-5;
  bool class_token = true;
  std::string pool = "tok";  // tok: the class token; avg: mean of the patch tokens (all tokens without class token)
  bool ln_pre = true;        // open_clip's no_ln_pre inverted
  nn::CroppedPositionalEmbeddingOptions cropped_pe;

  template <class V>
  void visit(V& v) {
    v("image_size", image_size, {.help = "input height = width in pixels", .min = 1});
    v("patch_size", patch_size, {.help = "patch side (conv1 kernel and stride)", .min = 1});
    v("width", width, {.help = "transformer width", .min = 1});
    v("layers", layers, {.help = "residual attention blocks", .min = 0});
    v("heads", heads, {.help = "attention heads (width must be divisible)", .min = 1});
    v("mlp_ratio", mlp_ratio, {.help = "MLP hidden width / width", .min = 0.0});
    v("act", act, {.help = "MLP activation", .choices = nn::activation_names()});
    v("ln_eps", ln_eps, {.help = "LayerNorm epsilon", .min = 0.0});
    v("class_token", class_token, {.help = "prepend a learned class token"});
    v("pool", pool, {.help = "tok: class token; avg: mean of patch tokens", .choices = {"tok", "avg"}});
    v("ln_pre", ln_pre, {.help = "LayerNorm before the transformer"});
    v("cropped_pe", cropped_pe, {.help = "RO-ViT cropped positional embeddings"});
  }

  int64_t grid() const { return image_size / patch_size; }
  int64_t tokens() const { return grid() * grid() + (class_token ? 1 : 0); }
  nn::TransformerOptions transformer() const;
};

class VisionTransformerImpl : public torch::nn::Module {
 public:
  // output_dim 0 leaves out `proj` (the tower then returns pooled width-sized features).
  VisionTransformerImpl(const VisionTransformerOptions& options, int64_t output_dim);

  // images [B, 3, H, W] -> [B, output_dim] (unnormalised).
  at::Tensor forward(const at::Tensor& images);
  // images -> every token after ln_post, [B, tokens, width] (class token first when present). Other
  // image sizes than options().image_size need cropped_pe (which resamples the PE to the patch grid).
  at::Tensor tokens(const at::Tensor& images);
  // tokens -> pooled and projected features.
  at::Tensor pool(const at::Tensor& tokens);
  // The patch rows of the positional embedding for a gh × gw grid: [gh·gw, width], or [B, gh·gw, width]
  // for per-sample crops (cropped_pe in training mode).
  at::Tensor patch_positional_embedding(int64_t batch, int64_t gh, int64_t gw);

  // One image: patch conv, transformer, projection (convention of nn::TransformerImpl).
  int64_t multiply_accumulates() const;
  const VisionTransformerOptions& options() const { return options_; }

  torch::nn::Conv2d conv1{nullptr};
  at::Tensor class_embedding;       // [width], undefined without class token
  at::Tensor positional_embedding;  // [tokens, width]
  torch::nn::LayerNorm ln_pre{nullptr};
  nn::Transformer transformer{nullptr};
  torch::nn::LayerNorm ln_post{nullptr};
  at::Tensor proj;  // [width, output_dim], undefined when output_dim is 0

 private:
  VisionTransformerOptions options_;
  int64_t output_dim_;
};
TORCH_MODULE(VisionTransformer);

}  // namespace loom

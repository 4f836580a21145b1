#pragma once
// open_clip's timm image tower (`TimmModel` over timm's `VisionTransformer`, the SigLIP towers), with
// their parameter names under `visual.`:
//   trunk.patch_embed.proj   patch conv with bias
//   trunk.cls_token          [1, 1, width], only with class_token (its position is in pos_embed)
//   trunk.pos_embed          [1, prefix + grid², width]
//   trunk.blocks.N           nn::VitBlock (norm1, attn.qkv, attn.proj, norm2, mlp.fc1, mlp.fc2, ls1/ls2)
//   trunk.norm               final LayerNorm (pool map or token)
//   trunk.attn_pool          MAP head (pool map; nn::AttentionPoolLatent)
//   trunk.fc_norm            LayerNorm after the average (pool avg, timm's use_fc_norm)
//   head.proj                open_clip's timm_proj 'linear' (none: the trunk's features as they are)
// The trunk's classifier is removed as open_clip removes it (num_classes 0). timm's defaults for these
// models: qkv and projection biases, no pre-norm, LayerNorm eps 1e-6 (timm's LayerNorm).
//
// pool avg is timm's ViT built with global_pool 'avg' (fc_norm after the mean), as open_clip builds it
// with timm_proj 'none'; with timm_proj 'linear' open_clip builds the model's default pooling and resets
// it to 'avg' afterwards, keeping `norm` before the mean: that combination is refused.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "core/config/config_schema.h"
#include "nn/attention_pool.h"
#include "nn/mlp.h"
#include "nn/transformer.h"
#include "nn/vit_block.h"

namespace loom {

// Defaults: vit_base_patch16_siglip_224 as open_clip's ViT-B-16-SigLIP builds it.
struct TimmVisionTransformerOptions {
  int64_t image_size = 224;
  int64_t patch_size = 16;
  int64_t width = 768;  // timm's embed_dim
  int64_t layers = 12;  // timm's depth
  int64_t heads = 12;
  double mlp_ratio = 4.0;  // SO400M: 3.7362 (4304 / 1152)
  std::string act = "gelu";
  double ln_eps = 1e-6;
  bool class_token = false;
  std::string pool = "map";             // open_clip's timm_pool: map | avg | token
  std::optional<double> ls_init_value;  // timm's init_values (layer scale)
  std::string proj = "none";            // open_clip's timm_proj: none | linear
  bool proj_bias = false;               // open_clip's timm_proj_bias

  template <class V>
  void visit(V& v) {
    v("image_size", image_size, {.help = "input height = width in pixels", .min = 1});
    v("patch_size", patch_size, {.help = "patch side (patch_embed kernel and stride)", .min = 1});
    v("width", width, {.help = "transformer width (timm embed_dim)", .min = 1});
    v("layers", layers, {.help = "transformer blocks (timm depth)", .min = 0});
    v("heads", heads, {.help = "attention heads (width must be divisible)", .min = 1});
    v("mlp_ratio", mlp_ratio, {.help = "MLP hidden width / width (hidden = int(width * ratio))", .min = 0.0});
    v("act", act, {.help = "MLP activation", .choices = nn::activation_names()});
    v("ln_eps", ln_eps, {.help = "LayerNorm epsilon", .min = 0.0});
    v("class_token", class_token, {.help = "prepend a learned class token"});
    v("pool", pool,
      {.help = "map: latent-query attention pool; avg: mean of patch tokens; token: the class token",
       .choices = {"map", "avg", "token"}});
    v("ls_init_value", ls_init_value, {.help = "layer scale initial value; unset: no layer scale"});
    v("proj", proj, {.help = "head after the trunk: none, or linear to embed_dim", .choices = {"none", "linear"}});
    v("proj_bias", proj_bias, {.help = "bias of the linear head"});
  }

  int64_t grid() const { return image_size / patch_size; }
  int64_t prefix_tokens() const { return class_token ? 1 : 0; }
  nn::TransformerOptions transformer() const;
};

// timm's VisionTransformer without its classifier: images -> pooled [B, width].
class TimmVisionTransformerImpl : public torch::nn::Module {
 public:
  explicit TimmVisionTransformerImpl(const TimmVisionTransformerOptions& options);

  at::Tensor forward(const at::Tensor& images);
  // images -> every token after the blocks and `norm` (before pooling), [B, prefix + grid², width].
  at::Tensor tokens(const at::Tensor& images);
  int64_t multiply_accumulates() const;

  torch::nn::Conv2d patch_embed_proj{nullptr};  // registered as patch_embed.proj
  at::Tensor cls_token;                         // undefined without class token
  at::Tensor pos_embed;
  torch::nn::ModuleList blocks{nullptr};
  torch::nn::LayerNorm norm{nullptr};          // null for pool avg
  nn::AttentionPoolLatent attn_pool{nullptr};  // pool map only
  torch::nn::LayerNorm fc_norm{nullptr};       // pool avg only

 private:
  TimmVisionTransformerOptions options_;
  std::vector<nn::VitBlock> blocks_;  // typed handles to the modules in `blocks`
};
TORCH_MODULE(TimmVisionTransformer);

// open_clip's TimmModel: `trunk` and its `head`; images [B, 3, H, W] -> [B, output_dim()].
class TimmVisionTowerImpl : public torch::nn::Module {
 public:
  // embed_dim: the joint embedding size, the head's output (proj linear).
  TimmVisionTowerImpl(const TimmVisionTransformerOptions& options, int64_t embed_dim);

  at::Tensor forward(const at::Tensor& images);
  int64_t output_dim() const { return head_proj ? embed_dim_ : options_.width; }
  int64_t multiply_accumulates() const;
  const TimmVisionTransformerOptions& options() const { return options_; }

  TimmVisionTransformer trunk{nullptr};
  torch::nn::Linear head_proj{nullptr};  // registered as head.proj; null for proj none

 private:
  TimmVisionTransformerOptions options_;
  int64_t embed_dim_;
};
TORCH_MODULE(TimmVisionTower);

}  // namespace loom

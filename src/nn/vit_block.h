#pragma once
// timm's ViT block with timm's parameter names (timm/models/vision_transformer.py `Block`, layers/
// attention.py `Attention`, layers/mlp.py `Mlp`), as open_clip's timm image towers (SigLIP) store them:
//   x = x + ls1(attn(norm1(x)));  x = x + ls2(mlp(norm2(x)))
// with attn.qkv (fused [Wq; Wk; Wv] with bias), attn.proj, mlp.fc1, mlp.fc2, ls1.gamma / ls2.gamma only
// with layer scale. The computation is nn::ResidualAttentionBlock's; only the names differ.
#include <cstdint>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "nn/layer_scale.h"
#include "nn/mlp.h"
#include "nn/transformer.h"

namespace loom::nn {

// timm's `Mlp`: fc1 (width -> hidden), activation, fc2 (hidden -> width).
class VitMlpImpl : public torch::nn::Module {
 public:
  VitMlpImpl(int64_t width, int64_t hidden, Activation activation);
  at::Tensor forward(const at::Tensor& x);

  torch::nn::Linear fc1{nullptr};
  torch::nn::Linear fc2{nullptr};

 private:
  Activation activation_;
};
TORCH_MODULE(VitMlp);

// timm's `Attention` (no q/k norm): self-attention through scaled_dot_product_attention.
class VitAttentionImpl : public torch::nn::Module {
 public:
  VitAttentionImpl(int64_t width, int64_t heads);
  at::Tensor forward(const at::Tensor& x);

  torch::nn::Linear qkv{nullptr};
  torch::nn::Linear proj{nullptr};

 private:
  int64_t heads_;
};
TORCH_MODULE(VitAttention);

class VitBlockImpl : public torch::nn::Module {
 public:
  // Width, heads, MLP hidden size, activation, LayerNorm eps and layer scale from `options` (`layers`
  // is the caller's). Initialised like timm's init_weights_vit_timm: Linear weights N(0, 0.02), zero biases.
  explicit VitBlockImpl(const TransformerOptions& options);
  at::Tensor forward(const at::Tensor& x);

  torch::nn::LayerNorm norm1{nullptr};
  VitAttention attn{nullptr};
  LayerScale ls1{nullptr};  // null without layer scale
  torch::nn::LayerNorm norm2{nullptr};
  VitMlp mlp{nullptr};
  LayerScale ls2{nullptr};
};
TORCH_MODULE(VitBlock);

// timm's Linear init: N(0, 0.02) weights (its trunc_normal_ cuts at ±2, i.e. 100 σ: a plain normal) and
// zero biases.
void init_timm_linear(torch::nn::Linear& linear);

}  // namespace loom::nn

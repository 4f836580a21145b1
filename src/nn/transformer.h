#pragma once
// The pre-LN transformer of CLIP-style towers: `resblocks.N` of
//   x = x + ls_1(attn(ln_1(x)));  x = x + ls_2(mlp(ln_2(x)))
// with open_clip's parameter names (ln_1, attn.in_proj_weight, ..., ln_2, mlp.c_fc, mlp.c_proj; ls_1.gamma
// and ls_2.gamma only with layer scale, otherwise the identity).
// Batch-first: [B, L, width].
#include <cstdint>
#include <optional>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "nn/attention.h"
#include "nn/layer_scale.h"
#include "nn/mlp.h"

namespace loom::nn {

struct TransformerOptions {
  int64_t width = 512;
  int64_t layers = 12;
  int64_t heads = 8;
  double mlp_ratio = 4.0;
  Activation activation = Activation::gelu;
  double ln_eps = 1e-5;                 // torch's default (open_clip); big_vision/RO-ViT weights use 1e-6
  std::optional<double> ls_init_value;  // layer scale on both residual branches (open_clip / timm), off when unset

  // int(width · mlp_ratio) like open_clip; the epsilon keeps a ratio written as hidden / width (which
  // may land one ulp below an integer) from truncating to hidden - 1.
  int64_t mlp_hidden() const { return static_cast<int64_t>(static_cast<double>(width) * mlp_ratio + 1e-6); }
};

// LayerNorm over the last dimension with the given eps (elementwise affine, torch's init).
torch::nn::LayerNorm layer_norm(int64_t width, double eps);

// Multiply–accumulates of `options.layers` pre-LN blocks over one sequence of `tokens` tokens: the dense
// matmuls as executed (q/k/v and output projections, the full L×L score and weighted-sum products even
// when causal, the MLP). LayerNorms, activations, softmax, layer scale and residual adds are not counted.
int64_t transformer_multiply_accumulates(const TransformerOptions& options, int64_t tokens);

class ResidualAttentionBlockImpl : public torch::nn::Module {
 public:
  explicit ResidualAttentionBlockImpl(const TransformerOptions& options);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& attn_mask = {}, bool causal = false);

  torch::nn::LayerNorm ln_1{nullptr};
  MultiheadAttention attn{nullptr};
  torch::nn::LayerNorm ln_2{nullptr};
  Mlp mlp{nullptr};
  LayerScale ls_1{nullptr}, ls_2{nullptr};  // null without layer scale
};
TORCH_MODULE(ResidualAttentionBlock);

class TransformerImpl : public torch::nn::Module {
 public:
  explicit TransformerImpl(const TransformerOptions& options);
  // x [B, L, width]; the mask arguments are those of MultiheadAttentionImpl::forward.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& attn_mask = {}, bool causal = false);

  // transformer_multiply_accumulates of this transformer.
  int64_t multiply_accumulates(int64_t tokens) const { return transformer_multiply_accumulates(options_, tokens); }

  const TransformerOptions& options() const { return options_; }
  ResidualAttentionBlock block(size_t index) const { return blocks_.at(index); }

  torch::nn::ModuleList resblocks{nullptr};

 private:
  TransformerOptions options_;
  std::vector<ResidualAttentionBlock> blocks_;  // typed handles to the modules in `resblocks`
};
TORCH_MODULE(Transformer);

}  // namespace loom::nn

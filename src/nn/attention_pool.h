#pragma once
// Multihead attention pooling with a learned latent query (MAP; timm's `AttentionPoolLatent`, the SigLIP
// image towers' head), with timm's parameter names: `latent` [1, latent_len, width], `q` (latent ->
// queries), `kv` (tokens -> fused [Wk; Wv]), `proj`, then a pre-LN MLP residual (`norm`, `mlp.fc1`,
// `mlp.fc2`) on the pooled latents, and the first latent as the output ('token' pooling):
//   x = proj(attention(q(latent), kv(tokens)));  x = x + mlp(norm(x));  out = x[:, 0]
// timm's defaults as its ViT builds the head: out_features = embed_dim = width, qkv bias, no q/k norm, no
// positional embedding.
#include <cstdint>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "nn/transformer.h"
#include "nn/vit_block.h"

namespace loom::nn {

class AttentionPoolLatentImpl : public torch::nn::Module {
 public:
  // Width, heads, MLP hidden size, activation and LayerNorm eps from `options` (the tower's). Initialised
  // like timm: latent from a normal truncated at ±2 σ with σ = width^-0.5, Linear layers N(0, 0.02).
  explicit AttentionPoolLatentImpl(const TransformerOptions& options, int64_t latent_len = 1);

  // tokens [B, L, width] -> [B, width].
  at::Tensor forward(const at::Tensor& tokens);

  // Multiply–accumulates for one sequence of `tokens` tokens (convention of nn::TransformerImpl).
  int64_t multiply_accumulates(int64_t tokens) const;

  at::Tensor latent;  // [1, latent_len, width]
  torch::nn::Linear q{nullptr}, kv{nullptr}, proj{nullptr};
  torch::nn::LayerNorm norm{nullptr};
  VitMlp mlp{nullptr};

 private:
  TransformerOptions options_;
  int64_t latent_len_;
};
TORCH_MODULE(AttentionPoolLatent);

}  // namespace loom::nn

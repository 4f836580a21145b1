#pragma once
// Multi-head self-attention with one fused input projection, laid out like torch.nn.MultiheadAttention
// (`in_proj_weight` rows = [Wq; Wk; Wv], `in_proj_bias`, `out_proj`), the layout open_clip and OpenAI
// CLIP checkpoints use. Batch-first; the attention itself is at::scaled_dot_product_attention, so the
// fused CPU/CUDA kernels are picked when the inputs allow it.
#include <cstdint>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

namespace loom::nn {

class MultiheadAttentionImpl : public torch::nn::Module {
 public:
  // Initialised like torch.nn.MultiheadAttention: xavier-uniform in_proj, zero biases.
  MultiheadAttentionImpl(int64_t width, int64_t heads);

  // x [B, L, width] -> [B, L, width]. `attn_mask` (optional, broadcastable to [B, heads, L, L]) is
  // additive when floating point, or boolean with true = may attend; `causal` masks key j > query i
  // (cheaper than an explicit mask).
  at::Tensor forward(const at::Tensor& x, const at::Tensor& attn_mask = {}, bool causal = false);

  int64_t heads() const { return heads_; }

  at::Tensor in_proj_weight;  // [3·width, width]
  at::Tensor in_proj_bias;    // [3·width]
  torch::nn::Linear out_proj{nullptr};

 private:
  int64_t heads_;
};
TORCH_MODULE(MultiheadAttention);

// The head split of fused projections shared by the attention layouts (this one, timm's `qkv`, the
// latent-query pool's `kv`): [B, L, n·width] -> [n, B, heads, L, width / heads].
at::Tensor split_heads(const at::Tensor& projected, int64_t n, int64_t heads);
// [B, heads, L, head_dim] -> [B, L, heads·head_dim], the inverse for one block.
at::Tensor merge_heads(const at::Tensor& x);

}  // namespace loom::nn

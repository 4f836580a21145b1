#include "nn/attention.h"

#include "core/error.h"
#include "core/text/cat.h"

namespace loom::nn {

MultiheadAttentionImpl::MultiheadAttentionImpl(int64_t width, int64_t heads) : heads_(heads) {
  if (heads < 1 || width % heads != 0)
    throw UserError(cat("attention width ", width, " is not divisible by ", heads, " heads"));
  in_proj_weight = register_parameter("in_proj_weight", torch::empty({3 * width, width}));
  in_proj_bias = register_parameter("in_proj_bias", torch::zeros({3 * width}));
  out_proj = register_module("out_proj", torch::nn::Linear(width, width));
  torch::NoGradGuard no_grad;
  torch::nn::init::xavier_uniform_(in_proj_weight);
  out_proj->bias.zero_();
}

at::Tensor MultiheadAttentionImpl::forward(const at::Tensor& x, const at::Tensor& attn_mask, bool causal) {
  at::Tensor qkv = split_heads(at::linear(x, in_proj_weight, in_proj_bias), 3, heads_);
  std::optional<at::Tensor> mask;
  if (attn_mask.defined())  // boolean masks (true = attend) pass as they are; additive ones follow x's dtype
    mask = attn_mask.is_floating_point() ? attn_mask.to(x.scalar_type()) : attn_mask;
  at::Tensor out = at::scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], mask, 0.0, causal);
  return out_proj->forward(merge_heads(out));
}

at::Tensor split_heads(const at::Tensor& projected, int64_t n, int64_t heads) {
  const int64_t batch = projected.size(0), length = projected.size(1), head_dim = projected.size(2) / (n * heads);
  // The n blocks lie side by side along features, each split into heads along features.
  return projected.view({batch, length, n, heads, head_dim}).permute({2, 0, 3, 1, 4});
}

at::Tensor merge_heads(const at::Tensor& x) {
  return x.transpose(1, 2).reshape({x.size(0), x.size(2), x.size(1) * x.size(3)});
}

}  // namespace loom::nn

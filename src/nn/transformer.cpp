#include "nn/transformer.h"

namespace loom::nn {

torch::nn::LayerNorm layer_norm(int64_t width, double eps) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({width}).eps(eps));
}

ResidualAttentionBlockImpl::ResidualAttentionBlockImpl(const TransformerOptions& options) {
  ln_1 = register_module("ln_1", layer_norm(options.width, options.ln_eps));
  attn = register_module("attn", MultiheadAttention(options.width, options.heads));
  ln_2 = register_module("ln_2", layer_norm(options.width, options.ln_eps));
  mlp = register_module("mlp", Mlp(options.width, options.mlp_hidden(), options.activation));
  if (options.ls_init_value) {
    ls_1 = register_module("ls_1", LayerScale(options.width, *options.ls_init_value));
    ls_2 = register_module("ls_2", LayerScale(options.width, *options.ls_init_value));
  }
}

at::Tensor ResidualAttentionBlockImpl::forward(const at::Tensor& x, const at::Tensor& attn_mask, bool causal) {
  at::Tensor a = attn->forward(ln_1->forward(x), attn_mask, causal);
  at::Tensor h = x + (ls_1 ? ls_1->forward(a) : a);
  at::Tensor m = mlp->forward(ln_2->forward(h));
  return h + (ls_2 ? ls_2->forward(m) : m);
}

TransformerImpl::TransformerImpl(const TransformerOptions& options) : options_(options) {
  resblocks = register_module("resblocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < options.layers; ++i) {
    blocks_.emplace_back(options);
    resblocks->push_back(blocks_.back());
  }
}

at::Tensor TransformerImpl::forward(const at::Tensor& x, const at::Tensor& attn_mask, bool causal) {
  at::Tensor h = x;
  for (auto& block : blocks_) h = block->forward(h, attn_mask, causal);
  return h;
}

int64_t transformer_multiply_accumulates(const TransformerOptions& options, int64_t tokens) {
  const int64_t width = options.width, hidden = options.mlp_hidden();
  const int64_t projections = tokens * width * (3 * width + width);  // q, k, v and out_proj
  const int64_t attention = 2 * tokens * tokens * width;             // q·kᵀ and softmax·v over all heads
  const int64_t mlp = 2 * tokens * width * hidden;                   // c_fc and c_proj
  return options.layers * (projections + attention + mlp);
}

}  // namespace loom::nn

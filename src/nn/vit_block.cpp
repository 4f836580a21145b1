#include "nn/vit_block.h"

#include "core/error.h"
#include "core/text/cat.h"
#include "nn/attention.h"

namespace loom::nn {

VitMlpImpl::VitMlpImpl(int64_t width, int64_t hidden, Activation activation) : activation_(activation) {
  fc1 = register_module("fc1", torch::nn::Linear(width, hidden));
  fc2 = register_module("fc2", torch::nn::Linear(hidden, width));
  init_timm_linear(fc1);
  init_timm_linear(fc2);
}

at::Tensor VitMlpImpl::forward(const at::Tensor& x) { return fc2->forward(activate(fc1->forward(x), activation_)); }

VitAttentionImpl::VitAttentionImpl(int64_t width, int64_t heads) : heads_(heads) {
  if (heads < 1 || width % heads != 0)
    throw UserError(cat("attention width ", width, " is not divisible by ", heads, " heads"));
  qkv = register_module("qkv", torch::nn::Linear(width, 3 * width));
  proj = register_module("proj", torch::nn::Linear(width, width));
  init_timm_linear(qkv);
  init_timm_linear(proj);
}

at::Tensor VitAttentionImpl::forward(const at::Tensor& x) {
  at::Tensor q_k_v = split_heads(qkv->forward(x), 3, heads_);
  return proj->forward(merge_heads(at::scaled_dot_product_attention(q_k_v[0], q_k_v[1], q_k_v[2])));
}

VitBlockImpl::VitBlockImpl(const TransformerOptions& options) {
  norm1 = register_module("norm1", layer_norm(options.width, options.ln_eps));
  attn = register_module("attn", VitAttention(options.width, options.heads));
  norm2 = register_module("norm2", layer_norm(options.width, options.ln_eps));
  mlp = register_module("mlp", VitMlp(options.width, options.mlp_hidden(), options.activation));
  if (options.ls_init_value) {
    ls1 = register_module("ls1", LayerScale(options.width, *options.ls_init_value));
    ls2 = register_module("ls2", LayerScale(options.width, *options.ls_init_value));
  }
}

at::Tensor VitBlockImpl::forward(const at::Tensor& x) {
  at::Tensor a = attn->forward(norm1->forward(x));
  at::Tensor h = x + (ls1 ? ls1->forward(a) : a);
  at::Tensor m = mlp->forward(norm2->forward(h));
  return h + (ls2 ? ls2->forward(m) : m);
}

void init_timm_linear(torch::nn::Linear& linear) {
  torch::NoGradGuard no_grad;
  linear->weight.normal_(0, 0.02);
  if (linear->bias.defined()) linear->bias.zero_();
}

}  // namespace loom::nn

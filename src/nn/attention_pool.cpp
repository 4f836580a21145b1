#include "nn/attention_pool.h"

#include <cmath>

#include "core/error.h"
#include "core/text/cat.h"
#include "nn/attention.h"

namespace loom::nn {

namespace {

// timm's trunc_normal_tf_: a standard normal truncated to [-2, 2], then scaled (by inverse-CDF sampling,
// as torch.nn.init.trunc_normal_ draws it).
void truncated_normal_(at::Tensor& t, double std) {
  const double low = std::erf(-2.0 / std::sqrt(2.0)), high = std::erf(2.0 / std::sqrt(2.0));
  t.uniform_(low, high).erfinv_().mul_(std::sqrt(2.0)).clamp_(-2.0, 2.0).mul_(std);
}

}  // namespace

AttentionPoolLatentImpl::AttentionPoolLatentImpl(const TransformerOptions& options, int64_t latent_len)
    : options_(options), latent_len_(latent_len) {
  const int64_t width = options.width;
  if (options.heads < 1 || width % options.heads != 0)
    throw UserError(cat("attention pool width ", width, " is not divisible by ", options.heads, " heads"));
  latent = register_parameter("latent", torch::empty({1, latent_len, width}));
  q = register_module("q", torch::nn::Linear(width, width));
  kv = register_module("kv", torch::nn::Linear(width, 2 * width));
  proj = register_module("proj", torch::nn::Linear(width, width));
  norm = register_module("norm", layer_norm(width, options.ln_eps));
  mlp = register_module("mlp", VitMlp(width, options.mlp_hidden(), options.activation));
  torch::NoGradGuard no_grad;
  truncated_normal_(latent, std::pow(static_cast<double>(width), -0.5));
  for (auto* linear : {&q, &kv, &proj}) init_timm_linear(*linear);
}

at::Tensor AttentionPoolLatentImpl::forward(const at::Tensor& tokens) {
  const int64_t batch = tokens.size(0);
  at::Tensor queries = split_heads(q->forward(latent.expand({batch, latent_len_, options_.width})), 1, options_.heads);
  at::Tensor keys_values = split_heads(kv->forward(tokens), 2, options_.heads);
  at::Tensor x =
      proj->forward(merge_heads(at::scaled_dot_product_attention(queries[0], keys_values[0], keys_values[1])));
  x = x + mlp->forward(norm->forward(x));
  return x.select(1, 0);
}

int64_t AttentionPoolLatentImpl::multiply_accumulates(int64_t tokens) const {
  const int64_t width = options_.width, n = latent_len_;
  const int64_t projections = n * width * width * 2 + tokens * width * 2 * width;  // q, proj; kv
  const int64_t attention = 2 * n * tokens * width;                                // q·kᵀ and softmax·v
  return projections + attention + 2 * n * width * options_.mlp_hidden();
}

}  // namespace loom::nn

#include "models/clip/text_transformer.h"

#include <cmath>

#include "core/error.h"
#include "core/text/cat.h"

namespace loom {

nn::TransformerOptions TextTransformerOptions::transformer() const {
  return {.width = width,
          .layers = layers,
          .heads = heads,
          .mlp_ratio = mlp_ratio,
          .activation = nn::parse_activation(act),
          .ln_eps = ln_eps,
          .ls_init_value = ls_init_value};
}

TextTransformerImpl::TextTransformerImpl(const TextTransformerOptions& options, int64_t output_dim)
    : options_(options), output_dim_(output_dim) {
  const int64_t width = options.width;
  token_embedding = register_module("token_embedding", torch::nn::Embedding(options.vocab_size, width));
  positional_embedding = register_parameter("positional_embedding", torch::empty({options.context_length, width}));
  transformer = register_module("transformer", nn::Transformer(options.transformer()));
  ln_final = register_module("ln_final", nn::layer_norm(width, options.ln_eps));
  const bool projected = options.proj_type == "linear" && output_dim > 0;  // as open_clip decides
  if (projected && options.proj_bias)
    text_projection_linear = register_module("text_projection", torch::nn::Linear(width, output_dim));
  else if (projected)
    text_projection = register_parameter("text_projection", torch::empty({width, output_dim}));

  // open_clip's init: small embeddings, projections scaled by width and depth (GPT-2 style residual
  // scaling on out_proj / c_proj), the rest (biases, LayerNorms) at torch's defaults.
  torch::NoGradGuard no_grad;
  const double w = static_cast<double>(width);
  const double attn_std = std::pow(w, -0.5);
  const double proj_std = attn_std * std::pow(2.0 * static_cast<double>(options.layers), -0.5);
  const double fc_std = std::pow(2.0 * w, -0.5);
  token_embedding->weight.normal_(0, 0.02);
  positional_embedding.normal_(0, 0.01);
  for (int64_t i = 0; i < options.layers; ++i) {
    auto block = transformer->block(static_cast<size_t>(i));
    block->attn->in_proj_weight.normal_(0, attn_std);
    block->attn->out_proj->weight.normal_(0, proj_std);
    block->mlp->c_fc->weight.normal_(0, fc_std);
    block->mlp->c_proj->weight.normal_(0, proj_std);
  }
  if (text_projection.defined()) text_projection.normal_(0, attn_std);
  if (text_projection_linear) {
    text_projection_linear->weight.normal_(0, attn_std);
    text_projection_linear->bias.zero_();
  }
}

at::Tensor TextTransformerImpl::token_features(const at::Tensor& tokens) {
  const int64_t length = tokens.size(1);
  if (length > options_.context_length)
    throw UserError(cat("text: ", length, " tokens per caption exceed context_length ", options_.context_length));
  at::Tensor x = token_embedding->forward(tokens) + positional_embedding.narrow(0, 0, length);
  return ln_final->forward(transformer->forward(x, {}, options_.causal));
}

at::Tensor TextTransformerImpl::eot_positions(const at::Tensor& tokens) const {
  at::Tensor is_eot = tokens == options_.eot_token_id;
  // argmax of a 0/1 row is its first 1; rows without EOT fall back to the last position, with no
  // host synchronisation.
  at::Tensor first = is_eot.to(at::kInt).argmax(1);
  return at::where(is_eot.any(1), first, at::full_like(first, tokens.size(1) - 1));
}

at::Tensor TextTransformerImpl::pool_positions(const at::Tensor& tokens) const {
  const std::string& pool = options_.pool;
  if (pool == "eot") return eot_positions(tokens);
  if (pool == "argmax") return tokens.argmax(1);
  const int64_t position = pool == "last" ? tokens.size(1) - 1 : 0;
  return at::full({tokens.size(0)}, position, tokens.options().dtype(at::kLong));
}

int64_t TextTransformerImpl::output_dim() const {
  return text_projection.defined() || text_projection_linear ? output_dim_ : options_.width;
}

at::Tensor TextTransformerImpl::forward(const at::Tensor& tokens) {
  at::Tensor x = token_features(tokens);
  at::Tensor rows = at::arange(x.size(0), tokens.options().dtype(at::kLong));
  at::Tensor pooled = x.index({rows, pool_positions(tokens)});
  if (text_projection_linear) return text_projection_linear->forward(pooled);
  return text_projection.defined() ? at::matmul(pooled, text_projection) : pooled;
}

int64_t TextTransformerImpl::multiply_accumulates() const {
  const bool projected = text_projection.defined() || text_projection_linear;
  return transformer->multiply_accumulates(options_.context_length) + (projected ? options_.width * output_dim_ : 0);
}

}  // namespace loom

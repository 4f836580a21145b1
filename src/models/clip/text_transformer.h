#pragma once
// The CLIP text tower (open_clip `TextTransformer`): `token_embedding`, learned `positional_embedding`,
// a causal pre-LN `transformer`, `ln_final` on every token, pooling at the end-of-text token and the
// right-multiplied `text_projection` [width, output_dim]. In open_clip's CLIP these parts sit at the
// top level of the state dict; Clip registers this module's members there under the same names.
//
// Pooling takes the first position whose id equals eot_token_id, not the argmax of the ids: with
// extra vocabulary (prefix or pseudo-word tokens with ids above the EOT id) argmax points at the
// wrong token. For standard tokenizer output both agree.
#include <cstdint>
#include <string>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "core/config/config_schema.h"
#include "nn/mlp.h"
#include "nn/transformer.h"

namespace loom {

struct TextTransformerOptions {
  int64_t context_length = 77;
  int64_t vocab_size = 49408;
  int64_t width = 512;
  int64_t heads = 8;
  int64_t layers = 12;
  double mlp_ratio = 4.0;
  std::string act = "gelu";
  double ln_eps = 1e-5;
  int64_t eot_token_id = 49407;  // the CLIP tokenizer's <end_of_text>

  template <class V>
  void visit(V& v) {
    v("context_length", context_length, {.help = "tokens per caption", .min = 1});
    v("vocab_size", vocab_size, {.help = "token embedding rows", .min = 1});
    v("width", width, {.help = "transformer width", .min = 1});
    v("heads", heads, {.help = "attention heads (width must be divisible)", .min = 1});
    v("layers", layers, {.help = "residual attention blocks", .min = 0});
    v("mlp_ratio", mlp_ratio, {.help = "MLP hidden width / width", .min = 0.0});
    v("act", act, {.help = "MLP activation", .choices = nn::activation_names()});
    v("ln_eps", ln_eps, {.help = "LayerNorm epsilon", .min = 0.0});
    v("eot_token_id", eot_token_id, {.help = "id whose (first) position is pooled", .min = 0});
  }

  nn::TransformerOptions transformer() const;
};

class TextTransformerImpl : public torch::nn::Module {
 public:
  // Initialised like open_clip's TextTransformer.init_parameters.
  TextTransformerImpl(const TextTransformerOptions& options, int64_t output_dim);

  // tokens [B, L ≤ context_length] (int64) -> [B, output_dim] (unnormalised).
  at::Tensor forward(const at::Tensor& tokens);
  // tokens -> every token after ln_final, [B, L, width].
  at::Tensor token_features(const at::Tensor& tokens);
  // The pooled position of each row: the first EOT, or the last position for a row without one.
  at::Tensor eot_positions(const at::Tensor& tokens) const;

  // One caption of context_length tokens: transformer and projection (the embedding is a lookup).
  int64_t multiply_accumulates() const;
  const TextTransformerOptions& options() const { return options_; }

  torch::nn::Embedding token_embedding{nullptr};
  at::Tensor positional_embedding;  // [context_length, width]
  nn::Transformer transformer{nullptr};
  torch::nn::LayerNorm ln_final{nullptr};
  at::Tensor text_projection;  // [width, output_dim]

 private:
  TextTransformerOptions options_;
  int64_t output_dim_;
};
TORCH_MODULE(TextTransformer);

}  // namespace loom

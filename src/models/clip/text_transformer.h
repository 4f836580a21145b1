#pragma once
// The CLIP text tower (open_clip `TextTransformer`): `token_embedding`, learned `positional_embedding`,
// a causal pre-LN `transformer`, `ln_final` on every token, pooling at the end-of-text token and the
// right-multiplied `text_projection` [width, output_dim]. In open_clip's CLIP these parts sit at the
// top level of the state dict; Clip registers this module's members there under the same names.
//
// Pooling (pool 'eot', the default) takes the first position whose id equals eot_token_id, not the
// argmax of the ids: with extra vocabulary (prefix or pseudo-word tokens with ids above the EOT id)
// argmax points at the wrong token. For standard tokenizer output both agree.
//
// open_clip's other text settings, as SigLIP's CustomTextCLIP uses them (its `text.` tower): causal
// false (no_causal_mask), pool 'last', a projection with bias (proj_bias: an nn.Linear `text_projection`,
// weight [output_dim, width] and bias), proj_type 'none' (no projection), and layer scale (ls_1, ls_2).
#include <cstdint>
#include <optional>
#include <string>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "core/config/config_schema.h"
#include "models/clip/input_options.h"
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
  bool causal = true;            // open_clip's no_causal_mask inverted
  std::string pool = "eot";      // eot | argmax (open_clip's default) | last | first
  std::string proj_type = "linear";
  bool proj_bias = false;
  std::optional<double> ls_init_value;  // layer scale; unset: none
  TokenizerOptions tokenizer;

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
    v("causal", causal, {.help = "causal attention mask (false: bidirectional, SigLIP)"});
    v("pool", pool,
      {.help = "pooled position: eot (first eot_token_id), argmax (highest id), last, first",
       .choices = {"eot", "argmax", "last", "first"}});
    v("proj_type", proj_type,
      {.help = "linear: project to the embedding; none: no projection", .choices = {"linear", "none"}});
    v("proj_bias", proj_bias, {.help = "linear projection with a bias (an nn.Linear text_projection)"});
    v("ls_init_value", ls_init_value, {.help = "layer scale initial value; unset: no layer scale"});
    v("tokenizer", tokenizer, {.help = "the tokenizer the weights were trained with"});
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
  // The position of each row's first EOT, or the last position for a row without one.
  at::Tensor eot_positions(const at::Tensor& tokens) const;
  // The pooled position of each row under options().pool.
  at::Tensor pool_positions(const at::Tensor& tokens) const;
  // Output size: output_dim, or width without a projection.
  int64_t output_dim() const;

  // One caption of context_length tokens: transformer and projection (the embedding is a lookup).
  int64_t multiply_accumulates() const;
  const TextTransformerOptions& options() const { return options_; }

  torch::nn::Embedding token_embedding{nullptr};
  at::Tensor positional_embedding;  // [context_length, width]
  nn::Transformer transformer{nullptr};
  torch::nn::LayerNorm ln_final{nullptr};
  at::Tensor text_projection;                         // [width, output_dim]; undefined with proj_bias or none
  torch::nn::Linear text_projection_linear{nullptr};  // proj_bias: registered as text_projection

 private:
  TextTransformerOptions options_;
  int64_t output_dim_;
};
TORCH_MODULE(TextTransformer);

}  // namespace loom

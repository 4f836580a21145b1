#pragma once
// SigLIP as open_clip builds it (`CustomTextCLIP` with a timm ViT image tower, model_configs/
// ViT-*-SigLIP*.json), weight-compatible: the image tower under `visual.` (trunk, head; models/clip/
// timm_vision_transformer.h), the text tower under `text.` (token_embedding, positional_embedding,
// transformer.resblocks.N, ln_final, text_projection.{weight,bias}), `logit_scale` and `logit_bias`.
// open_clip state dicts load with weights::load_file, strictly and without renaming.
//
// The defaults are ViT-B-16-SigLIP: a bidirectional text tower pooled at the last position with a
// biased projection, LayerNorm eps 1e-6, the SentencePiece tokenizer with open_clip's 'canonicalize'
// cleaning, and the SigLIP initial temperature and bias of open_clip's training (log 10, -10).
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

#include "core/config/config_schema.h"
#include "models/clip/image_text_model.h"
#include "models/clip/input_options.h"
#include "models/clip/text_transformer.h"
#include "models/clip/timm_vision_transformer.h"

namespace loom {

// ViT-B-16-SigLIP's text_cfg.
TextTransformerOptions siglip_text_defaults();
// open_clip's SigLIP preprocessing (pretrained.py _slpcfg): mean = std = 0.5, bicubic, squash.
ImagePreprocessOptions siglip_preprocess_defaults();

struct SigLipModelOptions {
  std::string name = "siglip";
  int64_t embed_dim = 768;
  TimmVisionTransformerOptions vision;
  TextTransformerOptions text = siglip_text_defaults();
  double init_logit_scale = std::log(10.0);
  std::optional<double> init_logit_bias = -10.0;
  ImagePreprocessOptions preprocess = siglip_preprocess_defaults();

  template <class V>
  void visit(V& v) {
    v("name", name);
    v("embed_dim", embed_dim, {.help = "joint embedding size", .min = 1});
    v("vision", vision, {.help = "timm ViT image tower (open_clip's TimmModel)"});
    v("text", text, {.help = "text tower"});
    v("init_logit_scale", init_logit_scale, {.help = "initial log of the logit scale"});
    v("init_logit_bias", init_logit_bias, {.help = "initial logit bias; null: no logit_bias"});
    v("preprocess", preprocess, {.help = "evaluation image preprocessing the weights were trained with"});
  }
};

class SigLip : public ImageTextModel {
 public:
  // Throws UserError when a tower's output size is not embed_dim (a tower without projection has its
  // width as output).
  explicit SigLip(const SigLipModelOptions& options);

  at::Tensor encode_image(const at::Tensor& images, bool normalize) override;
  at::Tensor encode_text(const at::Tensor& tokens, bool normalize) override;
  at::Tensor logit_scale_value() const override;  // exp(logit_scale) clamped at 100, as Clip
  at::Tensor logit_bias_value() const override { return logit_bias_; }
  int64_t image_size() const override { return options_.vision.image_size; }
  int64_t context_length() const override { return options_.text.context_length; }
  int64_t embed_dim() const override { return options_.embed_dim; }
  const ImagePreprocessOptions& preprocess() const override { return options_.preprocess; }
  const TokenizerOptions& tokenizer() const override { return options_.text.tokenizer; }
  const SigLipModelOptions& options() const { return options_; }

  // "visual" (patch conv, blocks, attention pool, head) and "text" (transformer and projection) for one
  // image and one caption of context_length tokens; twice the total is open_clip's GFLOPs column
  // (docs/model_profile.csv).
  std::vector<std::pair<std::string, int64_t>> multiply_accumulates() const override;

  TimmVisionTower visual{nullptr};
  TextTransformer text{nullptr};

 private:
  SigLipModelOptions options_;
  at::Tensor logit_scale_;
  at::Tensor logit_bias_;
};

void register_siglip_models();

}  // namespace loom

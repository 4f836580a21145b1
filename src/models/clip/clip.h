#pragma once
// CLIP (open_clip's `CLIP` class, weight-compatible): the image tower under `visual.`, the text tower's
// parts at the top level (token_embedding, positional_embedding, transformer, ln_final,
// text_projection), `logit_scale` (log of the contrastive temperature's inverse) and, for SigLIP-style
// training, `logit_bias`. open_clip state dicts load with weights::load_file, strictly and without
// renaming (open_clip src/open_clip/model.py, transformer.py).
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

#include "core/config/config_schema.h"
#include "models/clip/image_text_model.h"
#include "models/clip/text_transformer.h"
#include "models/clip/vision_transformer.h"

namespace loom {

struct ClipOptions {
  std::string name = "clip";
  int64_t embed_dim = 512;
  // true forces QuickGELU in both towers (open_clip's `quick_gelu` / `-quickgelu` configs: OpenAI,
  // laion400m, MetaCLIP weights); false keeps each tower's `act`.
  bool quick_gelu = false;
  VisionTransformerOptions vision;
  TextTransformerOptions text;
  double init_logit_scale = 2.659260036932778;  // log(1 / 0.07)
  std::optional<double> init_logit_bias;        // set (e.g. -10) to create `logit_bias` (SigLIP)
  ImagePreprocessOptions preprocess;

  template <class V>
  void visit(V& v) {
    v("name", name);
    v("embed_dim", embed_dim, {.help = "joint embedding size", .min = 1});
    v("quick_gelu", quick_gelu, {.help = "use QuickGELU in both towers (OpenAI-trained weights)"});
    v("vision", vision, {.help = "image tower"});
    v("text", text, {.help = "text tower"});
    v("init_logit_scale", init_logit_scale, {.help = "initial log of the logit scale"});
    v("init_logit_bias", init_logit_bias, {.help = "initial logit bias; creates logit_bias (SigLIP)"});
    v("preprocess", preprocess, {.help = "evaluation image preprocessing the weights were trained with"});
  }
};

class Clip : public ImageTextModel {
 public:
  explicit Clip(const ClipOptions& options);

  at::Tensor encode_image(const at::Tensor& images, bool normalize) override;
  at::Tensor encode_text(const at::Tensor& tokens, bool normalize) override;
  // open_clip clamps the stored log after each step; clamping the value here keeps the logits bounded
  // either way.
  at::Tensor logit_scale_value() const override;
  at::Tensor logit_bias_value() const override { return logit_bias_; }
  int64_t image_size() const override { return options_.vision.image_size; }
  int64_t context_length() const override { return options_.text.context_length; }
  int64_t embed_dim() const override { return options_.embed_dim; }
  const ImagePreprocessOptions& preprocess() const override { return options_.preprocess; }
  const TokenizerOptions& tokenizer() const override { return options_.text.tokenizer; }
  const ClipOptions& options() const { return options_; }

  // Per top-level module for one image and one caption of context_length tokens:
  //   "visual":      patch conv + transformer + proj
  //   "transformer": the text tower, i.e. its transformer + text_projection (the token embedding is a
  //                  lookup; the text tower has no submodule of its own in open_clip's layout)
  // Matmuls and convolutions as executed, see nn::TransformerImpl::multiply_accumulates. Twice the
  // total matches open_clip's GFLOPs column (docs/model_profile.csv).
  std::vector<std::pair<std::string, int64_t>> multiply_accumulates() const override;

  VisionTransformer visual{nullptr};
  TextTransformer text{nullptr};  // not registered itself: its members are, at the top level

 private:
  ClipOptions options_;
  at::Tensor logit_scale_;
  at::Tensor logit_bias_;
};

void register_clip_models();

}  // namespace loom

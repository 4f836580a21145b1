#include "models/clip/siglip.h"

#include "core/error.h"
#include "core/registry/registries.h"
#include "core/text/cat.h"

namespace loom {

TextTransformerOptions siglip_text_defaults() {
  TextTransformerOptions o;
  o.context_length = 64;
  o.vocab_size = 32000;
  o.width = 768;
  o.heads = 12;
  o.layers = 12;
  o.ln_eps = 1e-6;
  o.causal = false;
  o.pool = "last";
  o.proj_bias = true;
  o.tokenizer = {.name = "sentencepiece", .path = "", .clean = "canonicalize"};
  return o;
}

ImagePreprocessOptions siglip_preprocess_defaults() {
  return {.mean = {0.5, 0.5, 0.5}, .std = {0.5, 0.5, 0.5}, .interpolation = "bicubic", .resize_mode = "squash"};
}

SigLip::SigLip(const SigLipModelOptions& options) : options_(options) {
  visual = register_module("visual", TimmVisionTower(options.vision, options.embed_dim));
  text = register_module("text", TextTransformer(options.text, options.embed_dim));
  for (auto [tower, dim] : {std::pair{"vision", visual->output_dim()}, std::pair{"text", text->output_dim()}})
    if (dim != options.embed_dim)
      throw UserError(cat(tower, ": the tower's output size is ", dim,
                          " (its width, without projection), but embed_dim is ", options.embed_dim));
  logit_scale_ = register_parameter("logit_scale", torch::full({}, options.init_logit_scale));
  if (options.init_logit_bias)
    logit_bias_ = register_parameter("logit_bias", torch::full({}, *options.init_logit_bias));
}

at::Tensor SigLip::encode_image(const at::Tensor& images, bool normalize) {
  at::Tensor features = visual->forward(images);
  return normalize ? torch::nn::functional::normalize(features, torch::nn::functional::NormalizeFuncOptions().dim(-1))
                   : features;
}

at::Tensor SigLip::encode_text(const at::Tensor& tokens, bool normalize) {
  at::Tensor features = text->forward(tokens);
  return normalize ? torch::nn::functional::normalize(features, torch::nn::functional::NormalizeFuncOptions().dim(-1))
                   : features;
}

at::Tensor SigLip::logit_scale_value() const { return logit_scale_.exp().clamp_max(100.0); }

std::vector<std::pair<std::string, int64_t>> SigLip::multiply_accumulates() const {
  return {{"visual", visual->multiply_accumulates()}, {"text", text->multiply_accumulates()}};
}

void register_siglip_models() {
  model_registry().add(
      "siglip",
      [](const ConfigNode& node, const std::string& path) {
        return std::make_shared<SigLip>(read_config<SigLipModelOptions>(node, path));
      },
      "open_clip-compatible SigLIP (CustomTextCLIP): timm ViT image tower with MAP head, bidirectional text "
      "tower, sigmoid logit scale and bias");
}

}  // namespace loom

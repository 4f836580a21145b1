#include "models/clip/clip.h"

#include <cmath>

#include "core/registry/registries.h"

namespace loom {
namespace {

ClipOptions with_activation(ClipOptions options) {
  if (options.quick_gelu) options.vision.act = options.text.act = "quick_gelu";
  return options;
}

}  // namespace

Clip::Clip(const ClipOptions& options) : options_(with_activation(options)) {
  visual = register_module("visual", VisionTransformer(options_.vision, options_.embed_dim));
  text = TextTransformer(options_.text, options_.embed_dim);
  register_module("token_embedding", text->token_embedding);
  register_parameter("positional_embedding", text->positional_embedding);
  register_module("transformer", text->transformer);
  register_module("ln_final", text->ln_final);
  // open_clip's layouts: a [width, embed_dim] matrix, an nn.Linear (proj_bias) or none (proj_type none).
  if (text->text_projection_linear)
    register_module("text_projection", text->text_projection_linear);
  else if (text->text_projection.defined())
    register_parameter("text_projection", text->text_projection);
  logit_scale_ = register_parameter("logit_scale", torch::full({}, options_.init_logit_scale));
  if (options_.init_logit_bias)
    logit_bias_ = register_parameter("logit_bias", torch::full({}, *options_.init_logit_bias));
}

at::Tensor Clip::encode_image(const at::Tensor& images, bool normalize) {
  at::Tensor features = visual->forward(images);
  return normalize ? torch::nn::functional::normalize(features, torch::nn::functional::NormalizeFuncOptions().dim(-1))
                   : features;
}

at::Tensor Clip::encode_text(const at::Tensor& tokens, bool normalize) {
  at::Tensor features = text->forward(tokens);
  return normalize ? torch::nn::functional::normalize(features, torch::nn::functional::NormalizeFuncOptions().dim(-1))
                   : features;
}

at::Tensor Clip::logit_scale_value() const { return logit_scale_.exp().clamp_max(100.0); }

std::vector<std::pair<std::string, int64_t>> Clip::multiply_accumulates() const {
  return {{"visual", visual->multiply_accumulates()}, {"transformer", text->multiply_accumulates()}};
}

void register_clip_models() {
  model_registry().add(
      "clip",
      [](const ConfigNode& node, const std::string& path) {
        return std::make_shared<Clip>(read_config<ClipOptions>(node, path));
      },
      "open_clip-compatible CLIP: ViT image tower, causal text transformer, contrastive logit scale (and bias)");
}

}  // namespace loom

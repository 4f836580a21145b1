#include "models/clip/timm_vision_transformer.h"

#include <memory>

#include "core/error.h"
#include "core/text/cat.h"

namespace loom {

namespace {

// A parameterless module that only holds children, for the name levels timm's and open_clip's layouts
// have (`patch_embed.proj`, `head.proj`).
std::shared_ptr<torch::nn::Module> name_level(torch::nn::Module& parent, const std::string& name) {
  return parent.register_module(name, std::make_shared<torch::nn::Module>());
}

}  // namespace

nn::TransformerOptions TimmVisionTransformerOptions::transformer() const {
  return {.width = width,
          .layers = layers,
          .heads = heads,
          .mlp_ratio = mlp_ratio,
          .activation = nn::parse_activation(act),
          .ln_eps = ln_eps,
          .ls_init_value = ls_init_value};
}

TimmVisionTransformerImpl::TimmVisionTransformerImpl(const TimmVisionTransformerOptions& options) : options_(options) {
  if (options.pool == "token" && !options.class_token) throw UserError("vision: pool 'token' needs class_token: true");
  if (options.grid() < 1)
    throw UserError(cat("vision: image_size ", options.image_size, " is smaller than patch_size ", options.patch_size));
  const int64_t width = options.width, p = options.patch_size;
  patch_embed_proj = name_level(*this, "patch_embed")
                         ->register_module("proj", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, width, p).stride(p)));
  if (options.class_token) cls_token = register_parameter("cls_token", torch::empty({1, 1, width}));
  const int64_t positions = options.grid() * options.grid() + options.prefix_tokens();
  pos_embed = register_parameter("pos_embed", torch::empty({1, positions, width}));
  const nn::TransformerOptions block_options = options.transformer();
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < options.layers; ++i) {
    blocks_.emplace_back(block_options);
    blocks->push_back(blocks_.back());
  }
  if (options.pool == "avg")
    fc_norm = register_module("fc_norm", nn::layer_norm(width, options.ln_eps));
  else
    norm = register_module("norm", nn::layer_norm(width, options.ln_eps));
  if (options.pool == "map") attn_pool = register_module("attn_pool", nn::AttentionPoolLatent(block_options));

  // timm's init_weights: N(0, 0.02) position embeddings (a cut at ±2 is 100 σ), N(0, 1e-6) class token;
  // the patch conv keeps torch's default.
  torch::NoGradGuard no_grad;
  pos_embed.normal_(0, 0.02);
  if (cls_token.defined()) cls_token.normal_(0, 1e-6);
}

at::Tensor TimmVisionTransformerImpl::tokens(const at::Tensor& images) {
  at::Tensor patches = patch_embed_proj->forward(images);  // [B, width, gh, gw]
  const int64_t grid = options_.grid();
  if (patches.size(2) != grid || patches.size(3) != grid)
    throw UserError(cat("vision: ", images.size(2), "x", images.size(3), " images make a ", patches.size(2), "x",
                        patches.size(3), " patch grid; the positional embedding is for ", options_.image_size, "x",
                        options_.image_size, " (", grid, "x", grid, ")"));
  at::Tensor x = patches.flatten(2).transpose(1, 2);
  if (cls_token.defined()) x = at::cat({cls_token.expand({x.size(0), 1, options_.width}).to(x.scalar_type()), x}, 1);
  x = x + pos_embed.to(x.scalar_type());
  for (auto& block : blocks_) x = block->forward(x);
  return norm ? norm->forward(x) : x;
}

at::Tensor TimmVisionTransformerImpl::forward(const at::Tensor& images) {
  at::Tensor x = tokens(images);
  if (options_.pool == "token") return x.select(1, 0);
  at::Tensor patches = x.narrow(1, options_.prefix_tokens(), x.size(1) - options_.prefix_tokens());
  if (attn_pool) return attn_pool->forward(patches);
  return fc_norm->forward(patches.mean(1));
}

int64_t TimmVisionTransformerImpl::multiply_accumulates() const {
  const int64_t patches = options_.grid() * options_.grid(), p = options_.patch_size;
  const int64_t patch_conv = patches * options_.width * 3 * p * p;
  const int64_t pool = attn_pool ? attn_pool->multiply_accumulates(patches) : 0;
  return patch_conv + nn::transformer_multiply_accumulates(options_.transformer(), patches + options_.prefix_tokens()) +
         pool;
}

TimmVisionTowerImpl::TimmVisionTowerImpl(const TimmVisionTransformerOptions& options, int64_t embed_dim)
    : options_(options), embed_dim_(embed_dim) {
  if (options.pool == "avg" && options.proj == "linear")
    throw UserError(
        "vision: pool avg with proj linear is not supported (open_clip keeps timm's norm before the "
        "mean there, not the fc_norm after it of pool avg with proj none)");
  trunk = register_module("trunk", TimmVisionTransformer(options));
  if (options.proj == "linear") {
    head_proj =
        name_level(*this, "head")
            ->register_module(
                "proj", torch::nn::Linear(torch::nn::LinearOptions(options.width, embed_dim).bias(options.proj_bias)));
  }  // open_clip leaves the head at torch's default init
}

at::Tensor TimmVisionTowerImpl::forward(const at::Tensor& images) {
  at::Tensor features = trunk->forward(images);
  return head_proj ? head_proj->forward(features) : features;
}

int64_t TimmVisionTowerImpl::multiply_accumulates() const {
  return trunk->multiply_accumulates() + (head_proj ? options_.width * embed_dim_ : 0);
}

}  // namespace loom

#include "models/clip/vision_transformer.h"

#include <cmath>

#include "core/error.h"
#include "core/text/cat.h"

namespace loom {

nn::TransformerOptions VisionTransformerOptions::transformer() const {
  return {.width = width,
          .layers = layers,
          .heads = heads,
          .mlp_ratio = mlp_ratio,
          .activation = nn::parse_activation(act),
          .ln_eps = ln_eps};
}

VisionTransformerImpl::VisionTransformerImpl(const VisionTransformerOptions& options, int64_t output_dim)
    : options_(options), output_dim_(output_dim) {
  if (options.pool == "tok" && !options.class_token)
    throw UserError("vision: pool 'tok' needs class_token: true (use pool: avg without a class token)");
  if (options.grid() < 1)
    throw UserError(cat("vision: image_size ", options.image_size, " is smaller than patch_size ", options.patch_size));
  const int64_t width = options.width;
  conv1 = register_module(
      "conv1",
      torch::nn::Conv2d(torch::nn::Conv2dOptions(3, width, options.patch_size).stride(options.patch_size).bias(false)));
  // open_clip draws these as width^-0.5 · randn and leaves everything else at torch's default init.
  const double scale = 1.0 / std::sqrt(static_cast<double>(width));
  if (options.class_token) class_embedding = register_parameter("class_embedding", scale * torch::randn({width}));
  positional_embedding = register_parameter("positional_embedding", scale * torch::randn({options.tokens(), width}));
  if (options.ln_pre) ln_pre = register_module("ln_pre", nn::layer_norm(width, options.ln_eps));
  transformer = register_module("transformer", nn::Transformer(options.transformer()));
  ln_post = register_module("ln_post", nn::layer_norm(width, options.ln_eps));
  if (output_dim > 0) proj = register_parameter("proj", scale * torch::randn({width, output_dim}));
}

at::Tensor VisionTransformerImpl::patch_positional_embedding(int64_t batch, int64_t gh, int64_t gw) {
  const int64_t grid = options_.grid(), first = options_.class_token ? 1 : 0;
  at::Tensor patch_rows = positional_embedding.narrow(0, first, grid * grid);
  const auto& cpe = options_.cropped_pe;
  if (!cpe.enabled) {
    if (gh != grid || gw != grid)
      throw UserError(cat("vision: a ", gh, "x", gw, " patch grid does not match the positional embedding's ", grid,
                          "x", grid, " (image_size ", options_.image_size, "); enable cropped_pe to resample it"));
    return patch_rows;
  }
  at::Tensor pe_grid = patch_rows.view({grid, grid, options_.width});
  if (is_training()) {
    at::Tensor boxes = nn::sample_crop_boxes(batch, cpe).to(pe_grid.device());
    return nn::crop_positional_embedding(pe_grid, boxes, cpe.upsample, gh, gw)
        .reshape({batch, gh * gw, options_.width});
  }
  return nn::full_image_positional_embedding(pe_grid, cpe.upsample, gh, gw).reshape({gh * gw, options_.width});
}

at::Tensor VisionTransformerImpl::tokens(const at::Tensor& images) {
  at::Tensor patches = conv1->forward(images);  // [B, width, gh, gw]
  const int64_t batch = patches.size(0), gh = patches.size(2), gw = patches.size(3);
  at::Tensor x =
      patches.flatten(2).transpose(1, 2) + patch_positional_embedding(batch, gh, gw).to(patches.scalar_type());
  if (options_.class_token) {
    // The class token's PE row is always the learned one, also with cropped PEs.
    at::Tensor cls = (class_embedding + positional_embedding[0]).to(x.scalar_type());
    x = at::cat({cls.view({1, 1, -1}).expand({batch, 1, options_.width}), x}, 1);
  }
  if (ln_pre) x = ln_pre->forward(x);
  return ln_post->forward(transformer->forward(x));
}

at::Tensor VisionTransformerImpl::pool(const at::Tensor& tokens) {
  at::Tensor pooled;
  if (options_.pool == "tok")
    pooled = tokens.select(1, 0);
  else
    pooled = (options_.class_token ? tokens.narrow(1, 1, tokens.size(1) - 1) : tokens).mean(1);
  return proj.defined() ? at::matmul(pooled, proj) : pooled;
}

at::Tensor VisionTransformerImpl::forward(const at::Tensor& images) { return pool(tokens(images)); }

int64_t VisionTransformerImpl::multiply_accumulates() const {
  const int64_t grid = options_.grid(), width = options_.width;
  const int64_t patch_conv = grid * grid * width * 3 * options_.patch_size * options_.patch_size;
  return patch_conv + transformer->multiply_accumulates(options_.tokens()) + width * output_dim_;
}

}  // namespace loom

#include "export/timm_vit_onnx.h"

#include <cstdint>
#include <vector>

#include "core/text/cat.h"
#include "export/onnx_ops.h"
#include "export/torch_nn_onnx.h"
#include "export/transformer_onnx.h"

namespace loom::onnx {

namespace {

// TimmVisionTransformerImpl::tokens: every token after the blocks and `norm`, [B, prefix + grid², width].
std::string trunk_tokens(Graph& g, TimmVisionTransformerImpl& trunk, const TimmVisionTransformerOptions& o,
                         const std::string& images) {
  std::string patches;
  {
    auto scope = g.scope("patch_embed.proj");
    patches = torch_module(g, *trunk.patch_embed_proj, images, "visual.trunk.patch_embed.proj");
  }
  // flatten(2).transpose(1, 2); timm prepends the class token before adding pos_embed (which covers it).
  std::string x = g.node("Transpose", {reshape(g, patches, {0, o.width, o.grid() * o.grid()})},
                         {{"perm", std::vector<int64_t>{0, 2, 1}}});
  if (trunk.cls_token.defined()) x = concat(g, {expand_to_batch(g, trunk.cls_token, patches, "cls_token"), x}, 1);
  x = add(g, x, g.constant(trunk.pos_embed, "pos_embed"));
  const nn::Activation act = nn::parse_activation(o.act);
  for (size_t i = 0; i < trunk.blocks->size(); ++i) {
    auto scope = g.scope(cat("blocks.", i));
    x = vit_block(g, *trunk.blocks->ptr<nn::VitBlockImpl>(i), x, o.heads, act);
  }
  if (!trunk.norm) return x;
  auto scope = g.scope("norm");
  return layer_norm(g, *trunk.norm, x);
}

// TimmVisionTransformerImpl::forward: the pooled features [B, width].
std::string trunk_features(Graph& g, TimmVisionTransformerImpl& trunk, const TimmVisionTransformerOptions& o,
                           const std::string& images) {
  const std::string x = trunk_tokens(g, trunk, o, images);
  if (o.pool == "token") return select(g, x, 1, 0);
  const std::string patches =
      o.prefix_tokens() ? slice(g, x, 1, o.prefix_tokens(), o.prefix_tokens() + o.grid() * o.grid()) : x;
  if (trunk.attn_pool) {
    auto scope = g.scope("attn_pool");
    return attention_pool_latent(g, *trunk.attn_pool, patches, o.heads, nn::parse_activation(o.act));
  }
  auto scope = g.scope("fc_norm");
  return layer_norm(g, *trunk.fc_norm,
                    g.node("ReduceMean", {patches}, {{"axes", std::vector<int64_t>{1}}, {"keepdims", int64_t{0}}}));
}

}  // namespace

std::string timm_vision_tower(Graph& g, TimmVisionTowerImpl& visual, const std::string& images) {
  const TimmVisionTransformerOptions& o = visual.options();
  auto scope = g.scope("visual");
  std::string features;
  {
    auto trunk_scope = g.scope("trunk");
    features = trunk_features(g, *visual.trunk, o, images);
  }
  if (!visual.head_proj) return features;
  auto head_scope = g.scope("head.proj");
  return linear(g, features, visual.head_proj->weight, visual.head_proj->bias);
}

}  // namespace loom::onnx

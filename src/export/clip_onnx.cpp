#include "export/clip_onnx.h"

#include <cstdint>
#include <vector>

#include "export/onnx_ops.h"
#include "export/torch_nn_onnx.h"
#include "export/transformer_onnx.h"

namespace loom::onnx {

namespace {

// The class token [width] with its positional embedding row, expanded to [B, 1, width] for the batch of
// `like`.
std::string class_tokens(Graph& g, VisionTransformerImpl& visual, const std::string& like) {
  const at::Tensor cls = (visual.class_embedding + visual.positional_embedding[0]).view({1, 1, visual.options().width});
  return expand_to_batch(g, cls, like, "class_embedding");
}

// The first position of each row whose id is eot_token_id, else the last: [B, 1] int64
// (TextTransformerImpl::eot_positions).
std::string eot_positions(Graph& g, const TextTransformerOptions& o, const std::string& tokens) {
  const std::string is_eot = g.node("Cast", {g.node("Equal", {tokens, g.index(o.eot_token_id)})},
                                    {{"to", static_cast<int64_t>(ElementType::float32)}});
  // ArgMax returns the first of equal maxima, so of a 0/1 row its first 1.
  const std::string first = g.node("ArgMax", {is_eot}, {{"axis", int64_t{1}}, {"keepdims", int64_t{1}}});
  const std::string any = g.node(
      "Greater",
      {g.node("ReduceMax", {is_eot}, {{"axes", std::vector<int64_t>{1}}, {"keepdims", int64_t{1}}}), g.scalar(0.0f)});
  return g.node("Where", {any, first, g.ints({o.context_length - 1})});
}

// The features at each row's pooled position (TextTransformerImpl::pool_positions): x [B, L, width] ->
// [B, width].
std::string pooled_tokens(Graph& g, const TextTransformerOptions& o, const std::string& x, const std::string& tokens) {
  if (o.pool == "first" || o.pool == "last") return select(g, x, 1, o.pool == "last" ? o.context_length - 1 : 0);
  std::string positions;
  if (o.pool == "eot") {
    positions = eot_positions(g, o, tokens);
  } else {
    // argmax of the ids themselves; as float (ArgMax of int64 is not in every runtime), exact below 2^24.
    const std::string ids = g.node("Cast", {tokens}, {{"to", static_cast<int64_t>(ElementType::float32)}});
    positions = g.node("ArgMax", {ids}, {{"axis", int64_t{1}}, {"keepdims", int64_t{1}}});
  }
  return g.node("GatherND", {x, positions}, {{"batch_dims", int64_t{1}}});
}

}  // namespace

std::string vision_transformer(Graph& g, VisionTransformerImpl& visual, const std::string& images) {
  const VisionTransformerOptions& o = visual.options();
  if (o.cropped_pe.enabled && visual.is_training())
    unsupported("visual", "training mode (per-sample cropped positional embeddings)");
  auto scope = g.scope("visual");
  const int64_t grid = o.grid(), width = o.width;
  std::string patches;
  {
    auto conv_scope = g.scope("conv1");
    patches = torch_module(g, *visual.conv1, images, "visual.conv1");  // [B, width, grid, grid]
  }
  // flatten(2).transpose(1, 2) + the patch rows of the positional embedding.
  std::string x =
      g.node("Transpose", {reshape(g, patches, {0, width, grid * grid})}, {{"perm", std::vector<int64_t>{0, 2, 1}}});
  x = add(g, x, g.constant(visual.patch_positional_embedding(1, grid, grid), "positional_embedding"));
  if (o.class_token) x = concat(g, {class_tokens(g, visual, patches), x}, 1);
  if (visual.ln_pre) x = layer_norm(g, *visual.ln_pre, x);
  {
    auto transformer_scope = g.scope("transformer");
    x = transformer(g, *visual.transformer, x, o.tokens(), false);
  }
  x = layer_norm(g, *visual.ln_post, x);
  std::string pooled;
  if (o.pool == "tok") {
    pooled = select(g, x, 1, 0);
  } else {
    if (o.class_token) x = slice(g, x, 1, 1, o.tokens());
    pooled = g.node("ReduceMean", {x}, {{"axes", std::vector<int64_t>{1}}, {"keepdims", int64_t{0}}});
  }
  return visual.proj.defined() ? g.node("MatMul", {pooled, g.constant(visual.proj, "proj")}) : pooled;
}

std::string text_transformer(Graph& g, TextTransformerImpl& text, const std::string& tokens) {
  const TextTransformerOptions& o = text.options();
  std::string x;
  {
    auto scope = g.scope("token_embedding");
    x = g.node("Gather", {g.constant(text.token_embedding->weight, "weight"), tokens}, {{"axis", int64_t{0}}});
  }
  x = add(g, x, g.constant(text.positional_embedding, "positional_embedding"));
  {
    auto scope = g.scope("transformer");
    x = transformer(g, *text.transformer, x, o.context_length, o.causal);
  }
  {
    auto scope = g.scope("ln_final");
    x = layer_norm(g, *text.ln_final, x);
  }
  const std::string pooled = pooled_tokens(g, o, x, tokens);
  auto scope = g.scope("text_projection");
  if (text.text_projection_linear)
    return gemm(g, pooled, text.text_projection_linear->weight, text.text_projection_linear->bias);
  return text.text_projection.defined() ? g.node("MatMul", {pooled, g.constant(text.text_projection, "weight")})
                                        : pooled;
}

}  // namespace loom::onnx

#include "export/transformer_onnx.h"

#include <cmath>
#include <limits>
#include <vector>

#include <ATen/ops/full.h>

#include "core/text/cat.h"
#include "export/onnx_ops.h"

namespace loom::onnx {

namespace {

std::string transpose(Graph& g, const std::string& x, const std::vector<int64_t>& perm) {
  return g.node("Transpose", {x}, {{"perm", perm}});
}

// SDPA's is_causal as an additive mask: key j > query i gets −inf (the diagonal always stays, so no
// row is all −inf).
at::Tensor causal_mask(int64_t length) {
  return at::full({length, length}, -std::numeric_limits<float>::infinity()).triu(1);
}

std::string residual_attention_block(Graph& g, nn::ResidualAttentionBlockImpl& block, const std::string& x,
                                     const std::string& mask, nn::Activation act) {
  std::string a;
  {
    auto scope = g.scope("attn");
    a = multihead_attention(g, *block.attn, layer_norm(g, *block.ln_1, x), mask);
  }
  if (block.ls_1) a = mul(g, a, g.constant(block.ls_1->gamma, "ls_1.gamma"));
  const std::string h = add(g, x, a);
  std::string m;
  {
    auto scope = g.scope("mlp");
    m = mlp(g, *block.mlp, layer_norm(g, *block.ln_2, h), act);
  }
  if (block.ls_2) m = mul(g, m, g.constant(block.ls_2->gamma, "ls_2.gamma"));
  return add(g, h, m);
}

}  // namespace

std::string linear(Graph& g, const std::string& x, const at::Tensor& weight, const at::Tensor& bias) {
  const std::string y = g.node("MatMul", {x, g.constant(weight.t(), "weight")});
  return bias.defined() ? add(g, y, g.constant(bias, "bias")) : y;
}

std::string layer_norm(Graph& g, torch::nn::LayerNormImpl& norm, const std::string& x) {
  // nn::layer_norm's are elementwise affine over one (the last) dimension.
  return g.node("LayerNormalization", {x, g.constant(norm.weight, "weight"), g.constant(norm.bias, "bias")},
                {{"axis", int64_t{-1}}, {"epsilon", static_cast<float>(norm.options.eps())}});
}

std::string activation(Graph& g, const std::string& x, nn::Activation act) {
  const auto half_x_times = [&](const std::string& y) {  // 0.5·x·(1 + y)
    return mul(g, mul(g, x, g.scalar(0.5f)), add(g, y, g.scalar(1.0f)));
  };
  switch (act) {
    case nn::Activation::quick_gelu:
      return mul(g, x, g.node("Sigmoid", {mul(g, x, g.scalar(1.702f))}));
    case nn::Activation::gelu:  // erf(x / √2)
      return half_x_times(g.node("Erf", {mul(g, x, g.scalar(static_cast<float>(M_SQRT1_2)))}));
    case nn::Activation::gelu_tanh: {  // tanh(√(2/π)·(x + 0.044715·x³))
      const std::string cube = mul(g, mul(g, x, x), x);
      const std::string inner = add(g, x, mul(g, cube, g.scalar(0.044715f)));
      const auto sqrt_2_over_pi = static_cast<float>(M_SQRT2 * M_2_SQRTPI * 0.5);
      return half_x_times(g.node("Tanh", {mul(g, inner, g.scalar(sqrt_2_over_pi))}));
    }
  }
  unsupported("activation", cat("activation ", static_cast<int>(act)));
}

std::string multihead_attention(Graph& g, nn::MultiheadAttentionImpl& attn, const std::string& x,
                                const std::string& mask) {
  const int64_t width = attn.in_proj_weight.size(1), heads = attn.heads(), head_dim = width / heads;
  // nn::split_heads: [B, L, 3·width] -> [3, B, heads, L, head_dim].
  std::string qkv = linear(g, x, attn.in_proj_weight, attn.in_proj_bias);
  qkv = transpose(g, reshape(g, qkv, {0, 0, 3, heads, head_dim}), {2, 0, 3, 1, 4});
  const std::string q = select(g, qkv, 0, 0), k = select(g, qkv, 0, 1), v = select(g, qkv, 0, 2);
  std::string scores = g.node("MatMul", {q, transpose(g, k, {0, 1, 3, 2})});
  scores = mul(g, scores, g.scalar(static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_dim)))));
  if (!mask.empty()) scores = add(g, scores, mask);
  const std::string weights = g.node("Softmax", {scores}, {{"axis", int64_t{-1}}});
  // nn::merge_heads: [B, heads, L, head_dim] -> [B, L, width].
  const std::string merged = reshape(g, transpose(g, g.node("MatMul", {weights, v}), {0, 2, 1, 3}), {0, 0, width});
  return linear(g, merged, attn.out_proj->weight, attn.out_proj->bias);
}

std::string mlp(Graph& g, nn::MlpImpl& layer, const std::string& x, nn::Activation act) {
  const std::string h = activation(g, linear(g, x, layer.c_fc->weight, layer.c_fc->bias), act);
  return linear(g, h, layer.c_proj->weight, layer.c_proj->bias);
}

std::string transformer(Graph& g, nn::TransformerImpl& layers, const std::string& x, int64_t length, bool causal) {
  const nn::TransformerOptions& o = layers.options();
  const std::string mask = causal && o.layers > 0 ? g.constant(causal_mask(length), "causal_mask") : "";
  std::string h = x;
  for (int64_t i = 0; i < o.layers; ++i) {
    auto scope = g.scope(cat("resblocks.", i));
    h = residual_attention_block(g, *layers.block(static_cast<size_t>(i)), h, mask, o.activation);
  }
  return h;
}

}  // namespace loom::onnx

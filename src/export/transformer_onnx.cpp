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
  const std::string h = residual_branch(g, x, *block.ln_1, block.ls_1, "attn", "ls_1.gamma", [&](const std::string& a) {
    return multihead_attention(g, *block.attn, a, mask);
  });
  return residual_branch(g, h, *block.ln_2, block.ls_2, "mlp", "ls_2.gamma",
                         [&](const std::string& m) { return mlp(g, *block.mlp, m, act); });
}

}  // namespace

std::string fused_self_attention(Graph& g, const std::string& x, const at::Tensor& qkv_weight,
                                 const at::Tensor& qkv_bias, torch::nn::LinearImpl& out, int64_t heads,
                                 const std::string& mask) {
  const int64_t head_dim = qkv_weight.size(1) / heads;
  const std::string qkv = split_heads(g, linear(g, x, qkv_weight, qkv_bias), 3, heads, head_dim);
  const std::string merged =
      attention(g, select(g, qkv, 0, 0), select(g, qkv, 0, 1), select(g, qkv, 0, 2), head_dim, mask);
  return linear(g, merged, out.weight, out.bias);
}

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

std::string split_heads(Graph& g, const std::string& projected, int64_t n, int64_t heads, int64_t head_dim) {
  return transpose(g, reshape(g, projected, {0, 0, n, heads, head_dim}), {2, 0, 3, 1, 4});
}

std::string attention(Graph& g, const std::string& q, const std::string& k, const std::string& v, int64_t head_dim,
                      const std::string& mask) {
  std::string scores = g.node("MatMul", {q, transpose(g, k, {0, 1, 3, 2})});
  scores = mul(g, scores, g.scalar(static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_dim)))));
  if (!mask.empty()) scores = add(g, scores, mask);
  const std::string weights = g.node("Softmax", {scores}, {{"axis", int64_t{-1}}});
  // nn::merge_heads: [B, heads, Lq, head_dim] -> [B, Lq, heads·head_dim].
  return reshape(g, transpose(g, g.node("MatMul", {weights, v}), {0, 2, 1, 3}), {0, 0, -1});
}

std::string multihead_attention(Graph& g, nn::MultiheadAttentionImpl& attn, const std::string& x,
                                const std::string& mask) {
  return fused_self_attention(g, x, attn.in_proj_weight, attn.in_proj_bias, *attn.out_proj, attn.heads(), mask);
}

std::string mlp(Graph& g, const std::string& x, torch::nn::LinearImpl& fc, torch::nn::LinearImpl& proj,
                nn::Activation act) {
  return linear(g, activation(g, linear(g, x, fc.weight, fc.bias), act), proj.weight, proj.bias);
}

std::string mlp(Graph& g, nn::MlpImpl& layer, const std::string& x, nn::Activation act) {
  return mlp(g, x, *layer.c_fc, *layer.c_proj, act);
}

std::string residual_branch(Graph& g, const std::string& x, torch::nn::LayerNormImpl& norm, const nn::LayerScale& scale,
                            const std::string& scope, const std::string& scale_name, const Sublayer& body) {
  std::string y;
  {
    auto s = g.scope(scope);
    y = body(layer_norm(g, norm, x));
  }
  if (scale) y = mul(g, y, g.constant(scale->gamma, scale_name));
  return add(g, x, y);
}

std::string vit_block(Graph& g, nn::VitBlockImpl& block, const std::string& x, int64_t heads, nn::Activation act) {
  // timm's Attention: fused qkv, SDPA with the default 1/√head_dim scale, proj.
  const auto self_attention = [&](const std::string& a) {
    return fused_self_attention(g, a, block.attn->qkv->weight, block.attn->qkv->bias, *block.attn->proj, heads, "");
  };
  const std::string h = residual_branch(g, x, *block.norm1, block.ls1, "attn", "ls1.gamma", self_attention);
  return residual_branch(g, h, *block.norm2, block.ls2, "mlp", "ls2.gamma",
                         [&](const std::string& m) { return mlp(g, m, *block.mlp->fc1, *block.mlp->fc2, act); });
}

std::string attention_pool_latent(Graph& g, nn::AttentionPoolLatentImpl& pool, const std::string& tokens, int64_t heads,
                                  nn::Activation act) {
  const int64_t head_dim = pool.q->weight.size(1) / heads;
  // q(latent) is computed in the graph on the [1, latent_len, width] constant, as the forward does on its
  // batch expansion (identical rows).
  const std::string latent = g.constant(pool.latent, "latent");
  const std::string queries = split_heads(g, linear(g, latent, pool.q->weight, pool.q->bias), 1, heads, head_dim);
  const std::string keys_values = split_heads(g, linear(g, tokens, pool.kv->weight, pool.kv->bias), 2, heads, head_dim);
  std::string x =
      attention(g, select(g, queries, 0, 0), select(g, keys_values, 0, 0), select(g, keys_values, 0, 1), head_dim, "");
  x = linear(g, x, pool.proj->weight, pool.proj->bias);
  x = residual_branch(g, x, *pool.norm, nn::LayerScale{nullptr}, "mlp", "",
                      [&](const std::string& m) { return mlp(g, m, *pool.mlp->fc1, *pool.mlp->fc2, act); });
  return select(g, x, 1, 0);
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

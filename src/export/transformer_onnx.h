#pragma once
// ONNX exports of the pre-LN transformer layers in src/nn/ (transformer.h, attention.h, mlp.h, and timm's
// layout: vit_block.h, attention_pool.h), each mirroring the forward it is named after, on batch-first
// values [B, L, width]. Both layouts share one attention core, MLP and residual branch. The attention is spelt
// out as SDPA's math: scores scaled by 1/√head_dim, an additive causal mask (a constant [L, L] with
// −inf above the diagonal, as is_causal), Softmax over the keys.
#include <cstdint>
#include <functional>
#include <string>

#include <ATen/core/Tensor.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include "export/onnx_graph.h"
#include "nn/attention.h"
#include "nn/attention_pool.h"
#include "nn/layer_scale.h"
#include "nn/mlp.h"
#include "nn/transformer.h"
#include "nn/vit_block.h"

namespace loom::onnx {

// x [..., in] @ weightᵀ + bias (undefined: none) for any rank, as at::linear (Gemm takes rank 2 only).
std::string linear(Graph& g, const std::string& x, const at::Tensor& weight, const at::Tensor& bias);

// torch::nn::LayerNorm over the last dimension: LayerNormalization with its epsilon.
std::string layer_norm(Graph& g, torch::nn::LayerNormImpl& norm, const std::string& x);

// nn::activate.
std::string activation(Graph& g, const std::string& x, nn::Activation act);

// nn::split_heads: projected [B, L, n·heads·head_dim] -> [n, B, heads, L, head_dim].
std::string split_heads(Graph& g, const std::string& projected, int64_t n, int64_t heads, int64_t head_dim);

// SDPA on split heads then nn::merge_heads: q [B|1, heads, Lq, head_dim], k and v [B, heads, L, head_dim],
// an additive mask ("" = none) -> [B, Lq, heads·head_dim].
std::string attention(Graph& g, const std::string& q, const std::string& k, const std::string& v, int64_t head_dim,
                      const std::string& mask);

// Self-attention with fused [Wq; Wk; Wv] weight [3·width, width] and bias, then the `out` projection: the
// computation of nn::MultiheadAttention and timm's Attention (nn::VitAttention).
std::string fused_self_attention(Graph& g, const std::string& x, const at::Tensor& qkv_weight,
                                 const at::Tensor& qkv_bias, torch::nn::LinearImpl& out, int64_t heads,
                                 const std::string& mask);

// nn::MultiheadAttention on x [B, L, width] with an additive mask [L, L] ("" = none).
std::string multihead_attention(Graph& g, nn::MultiheadAttentionImpl& attn, const std::string& x,
                                const std::string& mask);

// The feed-forward block of both layouts: fc, activation, proj.
std::string mlp(Graph& g, const std::string& x, torch::nn::LinearImpl& fc, torch::nn::LinearImpl& proj,
                nn::Activation act);
// nn::Mlp: c_fc, activation, c_proj.
std::string mlp(Graph& g, nn::MlpImpl& layer, const std::string& x, nn::Activation act);

// A pre-LN residual branch, x + gamma·body(norm(x)) (no layer scale: x + body(norm(x))), `body` under
// `scope`, gamma named `scale_name`.
using Sublayer = std::function<std::string(const std::string&)>;
std::string residual_branch(Graph& g, const std::string& x, torch::nn::LayerNormImpl& norm, const nn::LayerScale& scale,
                            const std::string& scope, const std::string& scale_name, const Sublayer& body);

// nn::VitBlock (timm's Block: norm1, attn.qkv, attn.proj, ls1, norm2, mlp.fc1/fc2, ls2); the heads and
// activation are the tower's (the modules keep theirs private).
std::string vit_block(Graph& g, nn::VitBlockImpl& block, const std::string& x, int64_t heads, nn::Activation act);

// nn::AttentionPoolLatent on tokens [B, L, width] -> [B, width]: the latent's queries (one constant
// batch row, broadcast by MatMul) attend over kv(tokens), then proj, the norm/MLP residual, the first latent.
std::string attention_pool_latent(Graph& g, nn::AttentionPoolLatentImpl& pool, const std::string& tokens, int64_t heads,
                                  nn::Activation act);

// nn::Transformer's blocks in order (scopes resblocks.N), layer scale included when present, on a
// sequence of `length` tokens (fixed: the causal mask is one constant shared by the blocks).
std::string transformer(Graph& g, nn::TransformerImpl& layers, const std::string& x, int64_t length, bool causal);

}  // namespace loom::onnx

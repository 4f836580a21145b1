#pragma once
// ONNX exports of the pre-LN transformer layers in src/nn/ (transformer.h, attention.h, mlp.h), each
// mirroring the forward it is named after, on batch-first values [B, L, width]. The attention is spelt
// out as SDPA's math: scores scaled by 1/√head_dim, an additive causal mask (a constant [L, L] with
// −inf above the diagonal, as is_causal), Softmax over the keys.
#include <cstdint>
#include <string>

#include <ATen/core/Tensor.h>
#include <torch/nn/modules/normalization.h>

#include "export/onnx_graph.h"
#include "nn/attention.h"
#include "nn/mlp.h"
#include "nn/transformer.h"

namespace loom::onnx {

// x [..., in] @ weightᵀ + bias (undefined: none) for any rank, as at::linear (Gemm takes rank 2 only).
std::string linear(Graph& g, const std::string& x, const at::Tensor& weight, const at::Tensor& bias);

// torch::nn::LayerNorm over the last dimension: LayerNormalization with its epsilon.
std::string layer_norm(Graph& g, torch::nn::LayerNormImpl& norm, const std::string& x);

// nn::activate.
std::string activation(Graph& g, const std::string& x, nn::Activation act);

// nn::MultiheadAttention on x [B, L, width] with an additive mask [L, L] ("" = none).
std::string multihead_attention(Graph& g, nn::MultiheadAttentionImpl& attn, const std::string& x,
                                const std::string& mask);

// nn::Mlp: c_fc, activation, c_proj.
std::string mlp(Graph& g, nn::MlpImpl& layer, const std::string& x, nn::Activation act);

// nn::Transformer's blocks in order (scopes resblocks.N), layer scale included when present, on a
// sequence of `length` tokens (fixed: the causal mask is one constant shared by the blocks).
std::string transformer(Graph& g, nn::TransformerImpl& layers, const std::string& x, int64_t length, bool causal);

}  // namespace loom::onnx

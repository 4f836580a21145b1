#pragma once
// The pre-LN transformer of CLIP-style towers: `resblocks.N` of
//   x = x + attn(ln_1(x));  x = x + mlp(ln_2(x))
// with open_clip's parameter names (ln_1, attn.in_proj_weight, ..., ln_2, mlp.c_fc, mlp.c_proj).
// Batch-first: [B, L, width].
#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "nn/attention.h"
#include "nn/mlp.h"

namespace loom::nn {

struct TransformerOptions {
  int64_t width = 512;
  int64_t layers = 12;
  int64_t heads = 8;
  double mlp_ratio = 4.0;
  Activation activation = Activation::gelu;
  double ln_eps = 1e-5;  // torch's default (open_clip); big_vision/RO-ViT weights use 1e-6

  // int(width · mlp_ratio) like open_clip; the epsilon keeps a ratio written as hidden / width (which
  // may land one ulp below an integer) from truncating to hidden - 1.
  int64_t mlp_hidden() const { return static_cast<int64_t>(static_cast<double>(width) * mlp_ratio + 1e-6); }
};

// LayerNorm over the last dimension with the given eps (elementwise affine, torch's init).
torch::nn::LayerNorm layer_norm(int64_t width, double eps);

class ResidualAttentionBlockImpl : public torch::nn::Module {
 public:
  explicit ResidualAttentionBlockImpl(const TransformerOptions& options);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& attn_mask = {}, bool causal = false);

  torch::nn::LayerNorm ln_1{nullptr};
  MultiheadAttention attn{nullptr};
  torch::nn::LayerNorm ln_2{nullptr};
  Mlp mlp{nullptr};
};
TORCH_MODULE(ResidualAttentionBlock);

class TransformerImpl : public torch::nn::Module {
 public:
  explicit TransformerImpl(const TransformerOptions& options);
  // x [B, L, width]; the mask arguments are those of MultiheadAttentionImpl::forward.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& attn_mask = {}, bool causal = false);

  // Multiply–accumulates of one sequence of `tokens` tokens: the dense matmuls as executed (q/k/v and
  // output projections, the full L×L score and weighted-sum products even when causal, the MLP).
  // LayerNorms, activations, softmax and residual adds are not counted.
  int64_t multiply_accumulates(int64_t tokens) const;

  const TransformerOptions& options() const { return options_; }
  ResidualAttentionBlock block(size_t index) const { return blocks_.at(index); }

  torch::nn::ModuleList resblocks{nullptr};

 private:
  TransformerOptions options_;
  std::vector<ResidualAttentionBlock> blocks_;  // typed handles to the modules in `resblocks`
};
TORCH_MODULE(Transformer);

}  // namespace loom::nn

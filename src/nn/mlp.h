#pragma once
// The transformer feed-forward block: c_fc (width -> hidden), activation, c_proj (hidden -> width).
// Parameter names follow open_clip's `mlp.c_fc` / `mlp.c_proj` so its weights load as they are.
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

namespace loom::nn {

// quick_gelu = x·σ(1.702x) (OpenAI CLIP weights), gelu = exact erf GELU (open_clip's default),
// gelu_tanh = the tanh approximation (big_vision / RO-ViT weights). A checkpoint is only right with
// the activation it was trained with, so this is a per-model setting, never a global default.
enum class Activation { quick_gelu, gelu, gelu_tanh };

// The names accepted in configs, in the order of the enum (for FieldSpec::choices).
const std::vector<std::string>& activation_names();
Activation parse_activation(const std::string& name);  // throws UserError for an unknown name
at::Tensor activate(const at::Tensor& x, Activation activation);

class MlpImpl : public torch::nn::Module {
 public:
  MlpImpl(int64_t width, int64_t hidden, Activation activation);
  at::Tensor forward(const at::Tensor& x);

  torch::nn::Linear c_fc{nullptr};
  torch::nn::Linear c_proj{nullptr};

 private:
  Activation activation_;
};
TORCH_MODULE(Mlp);

}  // namespace loom::nn

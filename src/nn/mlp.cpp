#include "nn/mlp.h"

#include "core/error.h"
#include "core/text/cat.h"

namespace loom::nn {

const std::vector<std::string>& activation_names() {
  static const std::vector<std::string> names{"quick_gelu", "gelu", "gelu_tanh"};
  return names;
}

Activation parse_activation(const std::string& name) {
  const auto& names = activation_names();
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return static_cast<Activation>(i);
  throw UserError(cat("unknown activation '", name, "' (quick_gelu, gelu or gelu_tanh)"));
}

at::Tensor activate(const at::Tensor& x, Activation activation) {
  switch (activation) {
    case Activation::quick_gelu:
      return x * at::sigmoid(1.702 * x);
    case Activation::gelu:
      return at::gelu(x);
    case Activation::gelu_tanh:
      return at::gelu(x, "tanh");
  }
  return x;
}

MlpImpl::MlpImpl(int64_t width, int64_t hidden, Activation activation) : activation_(activation) {
  c_fc = register_module("c_fc", torch::nn::Linear(width, hidden));
  c_proj = register_module("c_proj", torch::nn::Linear(hidden, width));
}

at::Tensor MlpImpl::forward(const at::Tensor& x) { return c_proj->forward(activate(c_fc->forward(x), activation_)); }

}  // namespace loom::nn

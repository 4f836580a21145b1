#include "export/torch_nn_onnx.h"

#include <variant>
#include <vector>

#include <ATen/ops/ones.h>
#include <ATen/ops/zeros.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>

#include "export/onnx_ops.h"

namespace loom::onnx {

namespace {

namespace tnn = torch::nn;

std::string conv2d(Graph& g, tnn::Conv2dImpl& c, const std::string& x, const std::string& path) {
  const auto& o = c.options;
  if (!std::holds_alternative<torch::enumtype::kZeros>(o.padding_mode())) unsupported(path, "Conv2d padding_mode");
  const auto* pad = std::get_if<torch::ExpandingArray<2>>(&o.padding());
  if (!pad) unsupported(path, "Conv2d padding 'same' / 'valid'");
  const int64_t ph = (**pad)[0], pw = (**pad)[1];  // ExpandingArray: * is its std::array
  return conv(g, x, c.weight, o.bias() ? c.bias : at::Tensor(),
              {.strides = {(*o.stride())[0], (*o.stride())[1]},
               .pads = {ph, pw, ph, pw},
               .dilations = {(*o.dilation())[0], (*o.dilation())[1]},
               .group = o.groups()});
}

std::string batch_norm2d(Graph& g, tnn::BatchNorm2dImpl& bn, const std::string& x, const std::string& path) {
  // Exported as inference runs it: the running statistics, never the batch's.
  if (bn.is_training()) unsupported(path, "BatchNorm2d in training mode");
  if (!bn.options.track_running_stats()) unsupported(path, "BatchNorm2d without running statistics");
  const int64_t c = bn.options.num_features();
  const at::Tensor scale = bn.weight.defined() ? bn.weight : at::ones({c});
  const at::Tensor shift = bn.bias.defined() ? bn.bias : at::zeros({c});
  return g.node("BatchNormalization",
                {x, g.constant(scale, "scale"), g.constant(shift, "bias"), g.constant(bn.running_mean, "mean"),
                 g.constant(bn.running_var, "var")},
                {{"epsilon", static_cast<float>(bn.options.eps())}});
}

}  // namespace

std::string torch_module(Graph& g, torch::nn::Module& module, const std::string& x, const std::string& path) {
  if (auto* c = module.as<tnn::Conv2d>()) return conv2d(g, *c, x, path);
  if (auto* bn = module.as<tnn::BatchNorm2d>()) return batch_norm2d(g, *bn, x, path);
  if (module.as<tnn::ReLU6>()) return clip(g, x, 0.0f, 6.0f);
  if (module.as<tnn::ReLU>()) return g.node("Relu", {x});
  if (auto* l = module.as<tnn::LeakyReLU>()) return leaky_relu(g, x, static_cast<float>(l->options.negative_slope()));
  unsupported(path, module.name());
}

std::string torch_sequential(Graph& g, torch::nn::Module& sequential, const std::string& x, const std::string& path) {
  std::string y = x;
  for (const auto& child : sequential.named_children()) {
    const std::string child_path = path + "." + child.key();
    auto scope = g.scope(child.key());
    torch::nn::Module& m = *child.value();
    if (m.as<tnn::Sequential>())
      y = torch_sequential(g, m, y, child_path);
    else if (!m.children().empty())
      unsupported(child_path, m.name());
    else
      y = torch_module(g, m, y, child_path);
  }
  return y;
}

}  // namespace loom::onnx

#pragma once
// ONNX exports of the torch::nn modules Loom's models are built from (Conv2d, BatchNorm2d in eval mode,
// ReLU, ReLU6, LeakyReLU) and of Sequentials of them, nested or subclassed (torchvision-style
// Conv2dNormActivation blocks). A child of any other kind is unsupported: UserError naming its path
// and type.
#include <string>

#include <torch/nn/module.h>

#include "export/onnx_graph.h"

namespace loom::onnx {

// One leaf module (not a container) applied to x; `path` names it in errors.
std::string torch_module(Graph& g, torch::nn::Module& module, const std::string& x, const std::string& path);

// The children of `sequential` in order, as its forward runs them; containers recurse.
std::string torch_sequential(Graph& g, torch::nn::Module& sequential, const std::string& x, const std::string& path);

}  // namespace loom::onnx

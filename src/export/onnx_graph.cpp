#include "export/onnx_graph.h"

#include <bit>
#include <stdexcept>

#include <ATen/ops/scalar_tensor.h>
#include <ATen/ops/tensor.h>
#include <c10/core/ScalarType.h>

#include "core/error.h"
#include "core/text/cat.h"
#include "core/text/join.h"

namespace loom::onnx {

std::string Graph::input(const std::string& name, std::vector<Dim> shape, ElementType type) {
  if (!used_.insert(name).second) throw std::logic_error(cat("onnx graph: input name ", name, " is taken"));
  inputs_.push_back({name, type, std::move(shape)});
  return name;
}

void Graph::output(const std::string& value, const std::string& name, std::vector<Dim> shape, ElementType type) {
  std::string out = value;
  if (value != name) {
    if (!used_.insert(name).second) throw std::logic_error(cat("onnx graph: output name ", name, " is taken"));
    nodes_.push_back({"Identity", unique(scoped("Identity")), {value}, {name}, {}});
    out = name;
  }
  outputs_.push_back({out, type, std::move(shape)});
}

std::string Graph::constant(const at::Tensor& tensor, const std::string& hint) {
  at::Tensor t = tensor.detach().to(at::kCPU);
  t = (t.is_floating_point() ? t.to(at::kFloat) : t.to(at::kLong)).contiguous().clone();
  const std::string name = unique(scoped(hint));
  initializers_.push_back({name, t});
  return name;
}

std::string Graph::ints(const std::vector<int64_t>& values) {
  const std::string key = cat("i64[", join(values, ","), "]");
  auto it = shared_constants_.find(key);
  if (it != shared_constants_.end()) return it->second;
  const std::string name = unique(cat("ints_", join(values, "_")));
  initializers_.push_back({name, at::tensor(values, at::kLong)});
  return shared_constants_[key] = name;
}

std::string Graph::index(int64_t value) {
  const std::string key = cat("i64 ", value);
  auto it = shared_constants_.find(key);
  if (it != shared_constants_.end()) return it->second;
  const std::string name = unique(cat("index_", value));
  initializers_.push_back({name, at::scalar_tensor(value, at::kLong)});
  return shared_constants_[key] = name;
}

std::string Graph::scalar(float value) {
  const std::string key = cat("f32 ", std::bit_cast<uint32_t>(value));
  auto it = shared_constants_.find(key);
  if (it != shared_constants_.end()) return it->second;
  const std::string name = unique("scalar");
  initializers_.push_back({name, at::scalar_tensor(value, at::kFloat)});
  return shared_constants_[key] = name;
}

std::string Graph::node(const std::string& op_type, const std::vector<std::string>& inputs,
                        std::vector<Attribute> attributes) {
  const std::string name = unique(scoped(op_type));
  nodes_.push_back({op_type, name, inputs, {name}, std::move(attributes)});  // the output is named as its node
  return name;
}

void Graph::convert_to_float16() {
  for (auto& init : initializers_)
    if (init.tensor.scalar_type() == at::kFloat) init.tensor = init.tensor.to(at::kHalf);
  auto cast_to = [](Node& node) -> int64_t* {
    for (auto& a : node.attributes)
      if (a.name == "to") return std::get_if<int64_t>(&a.value);
    return nullptr;
  };
  for (auto& node : nodes_)
    if (int64_t* to = node.op_type == "Cast" ? cast_to(node) : nullptr; to && *to == int64_t(ElementType::float32))
      *to = int64_t(ElementType::float16);
  auto rename_uses = [this](const std::string& from, const std::string& to) {
    for (auto& node : nodes_)
      for (auto& input : node.inputs)
        if (input == from) input = to;
  };
  std::vector<Node> entry;
  for (const auto& input : inputs_) {
    if (input.type != ElementType::float32) continue;
    const std::string half = unique(cat(input.name, "_float16"));
    rename_uses(input.name, half);
    entry.push_back({"Cast", half, {input.name}, {half}, {{"to", int64_t(ElementType::float16)}}});
  }
  nodes_.insert(nodes_.begin(), entry.begin(), entry.end());
  for (const auto& output : outputs_) {
    if (output.type != ElementType::float32) continue;
    const std::string half = unique(cat(output.name, "_float16"));
    for (auto& node : nodes_)
      for (auto& out : node.outputs)
        if (out == output.name) out = half;
    rename_uses(output.name, half);
    nodes_.push_back(
        {"Cast", unique(cat(output.name, "_float32")), {half}, {output.name}, {{"to", int64_t(ElementType::float32)}}});
  }
}

Graph::Scope::Scope(Graph& graph, const std::string& name) : graph_(graph) { graph_.scopes_.push_back(name); }
Graph::Scope::~Scope() { graph_.scopes_.pop_back(); }

int64_t Graph::initializer_bytes() const {
  int64_t bytes = 0;
  for (const auto& i : initializers_) bytes += static_cast<int64_t>(i.tensor.nbytes());
  return bytes;
}

std::string Graph::unique(const std::string& base) {
  if (used_.insert(base).second) return base;
  for (int64_t k = 1;; ++k)
    if (std::string name = cat(base, "_", k); used_.insert(name).second) return name;
}

std::string Graph::scoped(const std::string& hint) const {
  return scopes_.empty() ? hint : cat(join(scopes_, "."), "/", hint);
}

void unsupported(const std::string& module, const std::string& what) {
  throw UserError(cat(module, ": ", what, " has no ONNX export"));
}

}  // namespace loom::onnx

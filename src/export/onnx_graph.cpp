#include "export/onnx_graph.h"

#include <bit>
#include <stdexcept>

#include <ATen/ops/scalar_tensor.h>
#include <ATen/ops/tensor.h>

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

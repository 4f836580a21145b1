#pragma once
// An ONNX graph under construction (ONNX opset 17, IR version 8): inputs, outputs, initializers and
// nodes whose values are names. Exporters of modules (export/*_onnx.h, one per module family, each
// mirroring its module's forward) emit nodes into one Graph; onnx_writer.h serializes it.
//
// Names are unique in the graph: every value, initializer and node gets the current scope path
// ("synthesis.b8.conv0/Conv_3"), so a graph viewer shows which module a node came from.
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <ATen/core/Tensor.h>

namespace loom::onnx {

constexpr int64_t kOpsetVersion = 17;
constexpr int64_t kIrVersion = 8;  // the IR version of opset 17 (ONNX 1.12)

// TensorProto.DataType values.
enum class ElementType : int32_t { float32 = 1, int64 = 7, float16 = 10 };

// An input or output dimension: a fixed size or a symbolic name ("batch").
using Dim = std::variant<int64_t, std::string>;

struct ValueInfo {
  std::string name;
  ElementType type = ElementType::float32;
  std::vector<Dim> shape;
};

struct Attribute {
  std::string name;
  std::variant<int64_t, float, std::string, std::vector<int64_t>, std::vector<float>> value;
};

struct Node {
  std::string op_type, name;
  std::vector<std::string> inputs, outputs;  // "" = an omitted optional input
  std::vector<Attribute> attributes;
};

struct Initializer {
  std::string name;
  at::Tensor tensor;  // CPU, contiguous, float32 or int64 (float16 after convert_to_float16)
};

class Graph {
 public:
  // float16: the graph will compute in float16 (exporters that need to keep float16 in range, such as
  // the modulated convs, read float16()); convert_to_float16 converts it once it is built.
  explicit Graph(std::string name, bool float16 = false) : name_(std::move(name)), float16_(float16) {}

  // A graph input; returns its value name (= name).
  std::string input(const std::string& name, std::vector<Dim> shape, ElementType type = ElementType::float32);
  // Declares `value` a graph output called `name` (an Identity node renames it when they differ).
  void output(const std::string& value, const std::string& name, std::vector<Dim> shape,
              ElementType type = ElementType::float32);

  // An initializer holding a copy of `tensor` (floating point as float32, integers as int64).
  std::string constant(const at::Tensor& tensor, const std::string& hint = "const");
  // Small constants shared by every node that needs the same value: int64 1-D (axes, shapes), an int64
  // scalar (an index) and a float32 scalar.
  std::string ints(const std::vector<int64_t>& values);
  std::string index(int64_t value);
  std::string scalar(float value);

  // A node with one output; returns the output's name.
  std::string node(const std::string& op_type, const std::vector<std::string>& inputs,
                   std::vector<Attribute> attributes = {});

  // Names made inside a Scope start with its path (scopes nest with '.').
  class Scope {
   public:
    Scope(Graph& graph, const std::string& name);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    Graph& graph_;
  };
  [[nodiscard]] Scope scope(const std::string& name) { return Scope(*this, name); }

  // The built graph in float16 with float32 inputs and outputs: float initializers become float16 (values
  // beyond its range ±inf, below it zero), a Cast follows each float32 input and precedes each output,
  // and Casts to float32 inside the graph cast to float16 instead.
  void convert_to_float16();
  bool float16() const { return float16_; }

  const std::string& name() const { return name_; }
  const std::vector<ValueInfo>& inputs() const { return inputs_; }
  const std::vector<ValueInfo>& outputs() const { return outputs_; }
  const std::vector<Node>& nodes() const { return nodes_; }
  const std::vector<Initializer>& initializers() const { return initializers_; }
  int64_t initializer_bytes() const;

 private:
  std::string unique(const std::string& base);
  std::string scoped(const std::string& hint) const;

  std::string name_;
  bool float16_ = false;
  std::vector<ValueInfo> inputs_, outputs_;
  std::vector<Node> nodes_;
  std::vector<Initializer> initializers_;
  std::vector<std::string> scopes_;
  std::set<std::string> used_;
  std::map<std::string, std::string> shared_constants_;  // a key of the value -> its initializer
};

// A module or op without an export path: UserError "<module>: <what> has no ONNX export", the exit 2
// of `loom export`.
[[noreturn]] void unsupported(const std::string& module, const std::string& what);

}  // namespace loom::onnx

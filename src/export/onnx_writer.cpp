#include "export/onnx_writer.h"

#include <bit>
#include <optional>
#include <string_view>
#include <variant>
#include <vector>

#include "core/error.h"
#include "core/io/file_system.h"
#include "core/metrics/protobuf_wire.h"
#include "core/text/cat.h"

namespace loom::onnx {

namespace {

// raw_data is little-endian; the tensors' bytes are copied as they lie in memory.
static_assert(std::endian::native == std::endian::little, "ONNX raw_data needs a little-endian host");

// onnx.proto field numbers (proto2; repeated scalars unpacked, as proto2 serializers write them).
namespace field {
constexpr uint32_t model_ir_version = 1, model_producer_name = 2, model_producer_version = 3, model_doc = 6,
                   model_graph = 7, model_opset_import = 8, model_metadata = 14;
constexpr uint32_t opset_domain = 1, opset_version = 2;
constexpr uint32_t entry_key = 1, entry_value = 2;
constexpr uint32_t graph_node = 1, graph_name = 2, graph_initializer = 5, graph_input = 11, graph_output = 12;
constexpr uint32_t node_input = 1, node_output = 2, node_name = 3, node_op_type = 4, node_attribute = 5;
constexpr uint32_t attr_name = 1, attr_f = 2, attr_i = 3, attr_s = 4, attr_floats = 7, attr_ints = 8, attr_type = 20;
constexpr uint32_t tensor_dims = 1, tensor_data_type = 2, tensor_name = 8, tensor_raw_data = 9,
                   tensor_external_data = 13, tensor_data_location = 14;
constexpr uint32_t value_name = 1, value_type = 2;
constexpr uint32_t type_tensor = 1, tensor_elem_type = 1, tensor_shape = 2;
constexpr uint32_t shape_dim = 1, dim_value = 1, dim_param = 2;
}  // namespace field

// AttributeProto.AttributeType values.
enum class AttributeType : int64_t { f = 1, i = 2, s = 3, floats = 6, ints = 7 };

constexpr int64_t kExternalLocation = 1;  // TensorProto.DataLocation.EXTERNAL
constexpr int64_t kDataAlignment = 64;    // offsets in FILE.data

pb::Encoder entry(const std::string& key, const std::string& value) {
  pb::Encoder e;
  e.bytes_field(field::entry_key, key);
  e.bytes_field(field::entry_value, value);
  return e;
}

ElementType element_type(const at::Tensor& t) {
  if (t.scalar_type() == at::kFloat) return ElementType::float32;
  if (t.scalar_type() == at::kLong) return ElementType::int64;
  if (t.scalar_type() == at::kHalf) return ElementType::float16;
  throw std::logic_error(cat("onnx writer: no element type for ", t.scalar_type()));
}

std::string_view bytes_of(const at::Tensor& t) { return {static_cast<const char*>(t.const_data_ptr()), t.nbytes()}; }

struct ExternalRef {
  std::string location;
  int64_t offset, length;
};

pb::Encoder tensor_proto(const Initializer& init, const std::optional<ExternalRef>& external) {
  pb::Encoder e;
  for (int64_t d : init.tensor.sizes()) e.int_field(field::tensor_dims, d);
  e.int_field(field::tensor_data_type, static_cast<int64_t>(element_type(init.tensor)));
  e.bytes_field(field::tensor_name, init.name);
  if (!external) {
    e.bytes_field(field::tensor_raw_data, bytes_of(init.tensor));
    return e;
  }
  e.message_field(field::tensor_external_data, entry("location", external->location));
  e.message_field(field::tensor_external_data, entry("offset", cat(external->offset)));
  e.message_field(field::tensor_external_data, entry("length", cat(external->length)));
  e.int_field(field::tensor_data_location, kExternalLocation);
  return e;
}

pb::Encoder value_info_proto(const ValueInfo& v) {
  pb::Encoder shape;
  for (const Dim& d : v.shape) {
    pb::Encoder dim;
    if (const auto* size = std::get_if<int64_t>(&d))
      dim.int_field(field::dim_value, *size);
    else
      dim.bytes_field(field::dim_param, std::get<std::string>(d));
    shape.message_field(field::shape_dim, dim);
  }
  pb::Encoder tensor;
  tensor.int_field(field::tensor_elem_type, static_cast<int64_t>(v.type));
  tensor.message_field(field::tensor_shape, shape);
  pb::Encoder type;
  type.message_field(field::type_tensor, tensor);
  pb::Encoder e;
  e.bytes_field(field::value_name, v.name);
  e.message_field(field::value_type, type);
  return e;
}

pb::Encoder attribute_proto(const Attribute& a) {
  pb::Encoder e;
  e.bytes_field(field::attr_name, a.name);
  AttributeType type;
  if (const auto* i = std::get_if<int64_t>(&a.value)) {
    e.int_field(field::attr_i, *i);
    type = AttributeType::i;
  } else if (const auto* f = std::get_if<float>(&a.value)) {
    e.float_field(field::attr_f, *f);
    type = AttributeType::f;
  } else if (const auto* s = std::get_if<std::string>(&a.value)) {
    e.bytes_field(field::attr_s, *s);
    type = AttributeType::s;
  } else if (const auto* ints = std::get_if<std::vector<int64_t>>(&a.value)) {
    for (int64_t v : *ints) e.int_field(field::attr_ints, v);
    type = AttributeType::ints;
  } else {
    for (float v : std::get<std::vector<float>>(a.value)) e.float_field(field::attr_floats, v);
    type = AttributeType::floats;
  }
  e.int_field(field::attr_type, static_cast<int64_t>(type));
  return e;
}

pb::Encoder node_proto(const Node& n) {
  pb::Encoder e;
  for (const auto& input : n.inputs) e.bytes_field(field::node_input, input);
  for (const auto& output : n.outputs) e.bytes_field(field::node_output, output);
  e.bytes_field(field::node_name, n.name);
  e.bytes_field(field::node_op_type, n.op_type);
  for (const auto& a : n.attributes) e.message_field(field::node_attribute, attribute_proto(a));
  return e;
}

// `external[i]` places initializer i in the data file (empty: all inline).
std::string model_bytes(const Graph& graph, const ModelInfo& info,
                        const std::vector<std::optional<ExternalRef>>& external) {
  pb::Encoder g;
  for (const Node& n : graph.nodes()) g.message_field(field::graph_node, node_proto(n));
  g.bytes_field(field::graph_name, graph.name());
  const auto& initializers = graph.initializers();
  for (size_t i = 0; i < initializers.size(); ++i)
    g.message_field(field::graph_initializer,
                    tensor_proto(initializers[i], external.empty() ? std::nullopt : external[i]));
  for (const ValueInfo& v : graph.inputs()) g.message_field(field::graph_input, value_info_proto(v));
  for (const ValueInfo& v : graph.outputs()) g.message_field(field::graph_output, value_info_proto(v));

  pb::Encoder opset;
  opset.bytes_field(field::opset_domain, "");
  opset.int_field(field::opset_version, kOpsetVersion);
  pb::Encoder m;
  m.int_field(field::model_ir_version, kIrVersion);
  m.bytes_field(field::model_producer_name, "loom");
  if (!info.producer_version.empty()) m.bytes_field(field::model_producer_version, info.producer_version);
  if (!info.doc.empty()) m.bytes_field(field::model_doc, info.doc);
  m.message_field(field::model_graph, g);
  m.message_field(field::model_opset_import, opset);
  for (const auto& [key, value] : info.metadata) m.message_field(field::model_metadata, entry(key, value));
  return m.bytes();
}

}  // namespace

std::string serialize(const Graph& graph, const ModelInfo& info) { return model_bytes(graph, info, {}); }

WrittenModel write_model(const std::filesystem::path& path, const Graph& graph, const ModelInfo& info,
                         const WriteOptions& options) {
  WrittenModel written{.model = path};
  std::vector<std::optional<ExternalRef>> external;
  if (graph.initializer_bytes() > options.external_data_above) {
    written.data = path.string() + ".data";
    std::string data;
    for (const Initializer& init : graph.initializers()) {
      const auto length = static_cast<int64_t>(init.tensor.nbytes());
      if (length < options.external_min_bytes) {
        external.emplace_back();
        continue;
      }
      data.resize((data.size() + kDataAlignment - 1) / kDataAlignment * kDataAlignment, '\0');
      external.push_back(ExternalRef{written.data.filename().string(), static_cast<int64_t>(data.size()), length});
      data.append(bytes_of(init.tensor));
    }
    write_durably(written.data,
                  [&](std::ostream& out) { out.write(data.data(), static_cast<std::streamsize>(data.size())); });
    written.data_bytes = static_cast<int64_t>(data.size());
  }
  const std::string bytes = model_bytes(graph, info, external);
  constexpr size_t kProtobufLimit = (size_t{1} << 31) - 1;
  if (bytes.size() > kProtobufLimit)
    throw UserError(cat("onnx export ", path.string(), ": the model is ", bytes.size(),
                        " bytes, over protobuf's 2 GB limit (lower external_data_above)"));
  write_durably(path, [&](std::ostream& out) { out.write(bytes.data(), static_cast<std::streamsize>(bytes.size())); });
  written.model_bytes = static_cast<int64_t>(bytes.size());
  return written;
}

}  // namespace loom::onnx

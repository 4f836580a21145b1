#pragma once
// A Graph (onnx_graph.h) as an ONNX file: ModelProto in protobuf's wire format (core/metrics/
// protobuf_wire.h, the encoder of the TensorBoard writer), with the field numbers of onnx/onnx.proto.
// Initializers are raw little-endian data; a model whose initializers exceed `external_data_above`
// keeps them in a side file FILE.data (TensorProto.external_data, as onnx.save_model writes it), since
// one protobuf message is limited to 2 GB. Both files are written durably, the data file first.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "export/onnx_graph.h"

namespace loom::onnx {

struct ModelInfo {
  std::string producer_version;                 // ModelProto.producer_version ("loom" is the producer)
  std::string doc;                              // ModelProto.doc_string
  std::map<std::string, std::string> metadata;  // ModelProto.metadata_props
};

struct WriteOptions {
  int64_t external_data_above = int64_t{1} << 30;  // initializer bytes above which they go to FILE.data
  int64_t external_min_bytes = 1024;               // smaller tensors stay inline even then (onnx's default)
};

struct WrittenModel {
  std::filesystem::path model, data;  // data empty when every initializer is inline
  int64_t model_bytes = 0, data_bytes = 0;
};

// The serialized ModelProto with every initializer inline.
std::string serialize(const Graph& graph, const ModelInfo& info);

// Writes `path` (and `path` + ".data" when the initializers go external). UserError when it cannot.
WrittenModel write_model(const std::filesystem::path& path, const Graph& graph, const ModelInfo& info,
                         const WriteOptions& options = {});

}  // namespace loom::onnx

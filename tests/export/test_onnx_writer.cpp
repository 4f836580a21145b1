// The ONNX writer and graph builder: a small graph with every attribute kind passes PyPI onnx's
// checker and runs in onnxruntime, inline and with external data, with the declared IR version, opset,
// producer, metadata and symbolic batch; unsupported modules and settings are UserErrors naming them.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "core/error.h"
#include "export/blazestylegan_onnx.h"
#include "export/model_graphs.h"
#include "export/onnx_ops.h"
#include "export/onnx_writer.h"
#include "export/torch_nn_onnx.h"
#include "models/blazestylegan/blaze_synthesis.h"
#include "models/encoder/mobilenet_v2_encoder.h"
#include "support/onnx_runs.h"

namespace {

using loom::onnx::Graph;

// x [batch, 8, 2, 2] -> Conv 1x1 (ints attributes) -> LeakyRelu (a float) -> DepthToSpace CRD (a string, an
// int) -> [batch, 2, 4, 4], and the same in ATen.
struct TinyModel {
  at::Tensor weight = torch::randn({8, 8, 1, 1}), bias = torch::randn({8});

  Graph graph() const {
    Graph g("tiny");
    const std::string x = g.input("x", {std::string("batch"), int64_t{8}, int64_t{2}, int64_t{2}});
    std::string y = loom::onnx::conv(g, x, weight, bias);
    y = loom::onnx::leaky_relu(g, y, 0.1f);
    y = loom::onnx::depth_to_space(g, y, "CRD");
    g.output(y, "y", {std::string("batch"), int64_t{2}, int64_t{4}, int64_t{4}});
    return g;
  }
  at::Tensor forward(const at::Tensor& x) const {
    return torch::pixel_shuffle(torch::leaky_relu(torch::conv2d(x, weight, bias), 0.1), 2);
  }
};

}  // namespace

TEST_CASE("ONNX writer: a small graph passes onnx's checker and runs in onnxruntime, inline and external",
          "[export][onnx]") {
  torch::manual_seed(0);
  const auto dir = loom::test::scratch("onnx_writer");
  const TinyModel tiny;
  const loom::onnx::ModelInfo info{.producer_version = "test", .doc = "tiny", .metadata = {{"loom.what", "tiny"}}};
  const auto inline_model = loom::onnx::write_model(dir / "tiny.onnx", tiny.graph(), info);
  CHECK(inline_model.data.empty());
  CHECK(inline_model.model_bytes == static_cast<int64_t>(std::filesystem::file_size(dir / "tiny.onnx")));
  // Every tensor of at least 4 bytes goes to tiny_external.onnx.data.
  const auto external = loom::onnx::write_model(dir / "tiny_external.onnx", tiny.graph(), info,
                                                {.external_data_above = 0, .external_min_bytes = 4});
  REQUIRE(external.data == dir / "tiny_external.onnx.data");
  CHECK(std::filesystem::file_size(external.data) >= static_cast<uintmax_t>(8 * 8 + 8) * 4);
  CHECK(external.model_bytes < inline_model.model_bytes);

  const at::Tensor x = torch::randn({3, 8, 2, 2});
  for (const char* name : {"tiny", "tiny_external"}) loom::test::write_onnx_inputs(dir, name, 0, {{"x", x}});
  loom::test::run_onnx_models(dir);
  for (const char* name : {"tiny", "tiny_external"}) {
    INFO(name);
    CHECK(loom::test::relative_error(loom::test::onnx_output(dir, name, 0, "y"), tiny.forward(x)) < 1e-5);
    const auto meta = loom::test::onnx_meta(dir, name);
    CHECK(meta["ir_version"] == loom::onnx::kIrVersion);
    REQUIRE(meta["opset"].size() == 1);
    CHECK(meta["opset"][0]["domain"] == "");
    CHECK(meta["opset"][0]["version"] == loom::onnx::kOpsetVersion);
    CHECK(meta["producer"] == "loom");
    CHECK(meta["metadata"]["loom.what"] == "tiny");
    CHECK(meta["inputs"]["x"] == nlohmann::json::array({"batch", 8, 2, 2}));
    CHECK(meta["outputs"]["y"] == nlohmann::json::array({"batch", 2, 4, 4}));
  }
}

TEST_CASE("ONNX graph names are unique and scoped, and shared constants are stored once", "[export][onnx]") {
  Graph g("names");
  const std::string x = g.input("x", {int64_t{2}});
  std::string a, b;
  {
    auto outer = g.scope("synthesis");
    auto inner = g.scope("b8");
    a = g.node("Relu", {x});
    b = g.node("Relu", {a});
  }
  CHECK(a == "synthesis.b8/Relu");
  CHECK(b == "synthesis.b8/Relu_1");
  CHECK(g.ints({2, 3}) == g.ints({2, 3}));
  CHECK(g.ints({2, 3}) != g.ints({3, 2}));
  CHECK(g.scalar(0.5f) == g.scalar(0.5f));
  CHECK(g.index(1) != g.ints({1}));
  CHECK(g.initializers().size() == 5);  // [2, 3], [3, 2], 0.5, index 1, [1]
  g.output(b, "y", {int64_t{2}});
  CHECK(g.outputs().back().name == "y");
  CHECK(g.nodes().back().op_type == "Identity");
}

TEST_CASE("unsupported modules and settings are named in the export's UserError", "[export][onnx]") {
  namespace tnn = torch::nn;
  Graph g("bad");
  const std::string x = g.input("x", {int64_t{1}, int64_t{3}, int64_t{8}, int64_t{8}});
  tnn::Sequential with_dropout(tnn::Conv2d(tnn::Conv2dOptions(3, 4, 3)), tnn::Dropout(0.5));
  with_dropout->eval();
  CHECK_THROWS_AS(loom::onnx::torch_sequential(g, *with_dropout, x, "head"), loom::UserError);
  CHECK_THROWS_WITH(loom::onnx::torch_sequential(g, *with_dropout, x, "head"),
                    Catch::Contains("head.1") && Catch::Contains("Dropout") && Catch::Contains("no ONNX export"));
  tnn::Sequential training_bn(tnn::BatchNorm2d(3));
  training_bn->train();
  CHECK_THROWS_WITH(loom::onnx::torch_sequential(g, *training_bn, x, "backbone"),
                    Catch::Contains("backbone.0") && Catch::Contains("training mode"));

  loom::BlazeStyleGanOptions o;
  o.resolution = 16;
  o.w_dim = 8;
  o.mapping_layers = 0;
  o.channels = {8, 8};
  loom::BlazeSynthesis synthesis(o);
  const std::string ws = g.input("ws", {int64_t{1}, synthesis->num_ws(), int64_t{8}});
  CHECK_THROWS_WITH(loom::onnx::blaze_synthesis(g, *synthesis, ws, loom::NoiseMode::random),
                    Catch::Contains("synthesis") && Catch::Contains("noise=random"));

  loom::MobileNetV2EncoderOptions e;
  e.resolution = 32;
  e.w_dim = 8;
  e.width_mult = 0.25;
  e.head_channels = 4;
  loom::MobileNetV2Encoder encoder(e);  // 12 ws, the student reads 4
  CHECK_THROWS_WITH(loom::onnx::stylizer_graph(encoder, *synthesis, torch::zeros({8}), {}),
                    Catch::Contains("does not fit the student"));
}

// ONNX exports of SigLIP's towers, with random small models moved off their init, pass PyPI onnx's
// checker and match SigLip::encode_image((x − mean) / std) / encode_text in onnxruntime within 1e-4
// (relative to the output's scale, at least 1), at two batch sizes of one dynamic-batch graph: the timm
// image tower pooled by the MAP head, the average (fc_norm) and the class token, with and without class
// token, layer scale, a linear head with and without bias or none, every activation; the SigLIP text
// tower (bidirectional, last position, biased projection) and a causal argmax one with layer scale; the
// loom.* metadata as the CLIP graphs write it.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "export/model_graphs.h"
#include "export/onnx_writer.h"
#include "models/clip/siglip.h"
#include "support/onnx_runs.h"
#include "support/small_clip.h"

namespace {

constexpr double kTolerance = 1e-4;

struct Case {
  std::string name;
  loom::SigLipModelOptions options;
  bool normalize = true;
};

// Each case's model exported with `graph`, run on inputs made by `inputs` at batch 3 and 1, and compared
// with `encode` (the Loom side of the same inputs); returns the folder of the runs.
using GraphFn = loom::onnx::ExportedGraph (*)(loom::ImageTextModel&, const loom::onnx::GraphOptions&, bool);
template <class Inputs, class Encode>
std::filesystem::path check_cases(const std::string& folder, const std::vector<Case>& cases, GraphFn graph,
                                  const std::string& input, const std::string& what, Inputs inputs, Encode encode) {
  const auto dir = loom::test::scratch(folder);
  const std::vector<int64_t> batches{3, 1};
  std::vector<std::vector<at::Tensor>> expected;
  for (const Case& c : cases) {
    loom::SigLip model(c.options);
    loom::test::randomize_for_export(model);
    model.eval();
    torch::NoGradGuard no_grad;
    auto exported = graph(model, {}, c.normalize);
    loom::onnx::write_model(dir / (c.name + ".onnx"), exported.graph, exported.info);
    expected.emplace_back();
    for (size_t k = 0; k < batches.size(); ++k) {
      const at::Tensor x = inputs(batches[k]);
      loom::test::write_onnx_inputs(dir, c.name, static_cast<int>(k), {{input, x}});
      expected.back().push_back(encode(model, x, c.normalize));
    }
  }
  loom::test::run_onnx_models(dir);
  for (size_t i = 0; i < cases.size(); ++i) {
    loom::test::check_onnx_embeddings(dir, cases[i].name, expected[i], what, kTolerance);
    CHECK(loom::test::onnx_meta(dir, cases[i].name)["outputs"]["embedding"][1] == cases[i].options.embed_dim);
  }
  return dir;
}

}  // namespace

TEST_CASE("SigLIP image tower exports match SigLip::encode_image in onnxruntime for every pooling and head",
          "[export][onnx][siglip]") {
  torch::manual_seed(21);
  std::vector<Case> cases;
  cases.push_back({"map_gelu", loom::test::small_siglip()});
  cases.push_back({"map_class_token_layer_scale_linear_gelu_tanh", loom::test::small_siglip()});
  cases.back().options.embed_dim = 24;
  cases.back().options.vision.class_token = true;
  cases.back().options.vision.ls_init_value = 0.5;
  cases.back().options.vision.proj = "linear";
  cases.back().options.vision.proj_bias = true;
  cases.back().options.vision.act = "gelu_tanh";
  cases.push_back({"avg_quick_gelu_mlp_ratio_3", loom::test::small_siglip()});
  cases.back().options.vision.pool = "avg";
  cases.back().options.vision.act = "quick_gelu";
  cases.back().options.vision.mlp_ratio = 3.0;
  cases.push_back({"avg_class_token_layer_scale_unnormalised", loom::test::small_siglip(), false});
  cases.back().options.vision.pool = "avg";
  cases.back().options.vision.class_token = true;
  cases.back().options.vision.ls_init_value = 0.1;
  cases.push_back({"token_linear_no_bias_two_heads", loom::test::small_siglip()});
  cases.back().options.embed_dim = 24;
  cases.back().options.vision.class_token = true;
  cases.back().options.vision.pool = "token";
  cases.back().options.vision.proj = "linear";
  cases.back().options.vision.heads = 2;
  cases.push_back({"token_no_head_layer_scale_unnormalised", loom::test::small_siglip(), false});
  cases.back().options.vision.class_token = true;
  cases.back().options.vision.pool = "token";
  cases.back().options.vision.ls_init_value = 0.5;

  const at::Tensor mean = torch::full({1, 3, 1, 1}, 0.5), std = torch::full({1, 3, 1, 1}, 0.5);  // SigLIP's
  const auto dir = check_cases(
      "onnx_siglip_image", cases, loom::onnx::clip_image_graph, "image", "clip_image",
      [](int64_t batch) {
        return torch::rand({batch, 3, 32, 32});
      },
      [&](loom::SigLip& m, const at::Tensor& x, bool normalize) {
        return m.encode_image((x - mean) / std, normalize);
      });
  const auto meta = loom::test::onnx_meta(dir, "map_gelu");
  CHECK(meta["inputs"]["image"] == nlohmann::json::array({"batch", 3, 32, 32}));
  const auto preprocess = nlohmann::json::parse(meta["metadata"]["loom.preprocess"].get<std::string>());
  CHECK(preprocess["mean"] == nlohmann::json::array({0.5, 0.5, 0.5}));
  CHECK(preprocess["std"] == nlohmann::json::array({0.5, 0.5, 0.5}));
  CHECK(preprocess["image_size"] == 32);
  CHECK(preprocess["resize_mode"] == "squash");
  CHECK(preprocess["interpolation"] == "bicubic");
}

TEST_CASE("SigLIP text tower exports match SigLip::encode_text in onnxruntime", "[export][onnx][siglip]") {
  torch::manual_seed(22);
  std::vector<Case> cases;
  cases.push_back({"siglip_last_bidirectional_proj_bias", loom::test::small_siglip()});
  cases.push_back({"gelu_tanh_four_heads_unnormalised", loom::test::small_siglip(), false});
  cases.back().options.text.act = "gelu_tanh";
  cases.back().options.text.heads = 4;
  cases.push_back({"causal_argmax_layer_scale", loom::test::small_siglip()});
  cases.back().options.text.causal = true;
  cases.back().options.text.pool = "argmax";
  cases.back().options.text.ls_init_value = 0.5;

  const auto dir = check_cases(
      "onnx_siglip_text", cases, loom::onnx::clip_text_graph, "tokens", "clip_text",
      [](int64_t batch) {
        return torch::randint(0, loom::test::kVocab, {batch, loom::test::kContext}, torch::kLong);
      },
      [](loom::SigLip& m, const at::Tensor& x, bool normalize) { return m.encode_text(x, normalize); });
  const auto meta = loom::test::onnx_meta(dir, "siglip_last_bidirectional_proj_bias");
  CHECK(meta["inputs"]["tokens"] == nlohmann::json::array({"batch", loom::test::kContext}));
  const auto tokenizer = nlohmann::json::parse(meta["metadata"]["loom.tokenizer"].get<std::string>());
  CHECK(tokenizer["name"] == "sentencepiece");
  CHECK(tokenizer["clean"] == "canonicalize");
  CHECK(tokenizer["context_length"] == loom::test::kContext);
}

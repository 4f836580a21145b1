// ONNX exports of the CLIP towers, with random small models moved off their init, pass PyPI onnx's
// checker and match Clip::encode_image / encode_text in onnxruntime within 1e-4 (relative to the
// output's scale, at least 1), at two batch sizes of one dynamic-batch graph: class-token and average
// pooling (with and without class token), every activation, ln_pre off, cropped positional embeddings
// at evaluation, the preprocessing's mean/std; the text tower pooled at the first EOT (rows with it at
// different positions, after ids above it, and without it), at the argmax, last and first positions,
// causal and bidirectional, with layer scale, a biased or no projection, normalised or not.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "export/model_graphs.h"
#include "export/onnx_writer.h"
#include "models/clip/clip.h"
#include "support/onnx_runs.h"
#include "support/small_clip.h"

namespace {

constexpr double kTolerance = 1e-4;
using loom::test::kContext;
using loom::test::kEot;
using loom::test::kVocab;
using loom::test::small_clip;

struct Case {
  std::string name;
  loom::ClipOptions options;
  bool normalize = true;
};

std::shared_ptr<loom::Clip> random_clip(const loom::ClipOptions& options) {
  auto clip = std::make_shared<loom::Clip>(options);
  loom::test::randomize_for_export(*clip);
  clip->eval();
  return clip;
}

// Ids below and above the EOT id; rows 0-3 hold EOTs at different places (row 1 twice: the first counts;
// row 2 after ids above it, where argmax would point elsewhere), row 4 none.
at::Tensor tokens(int64_t batch) {
  at::Tensor t = torch::randint(0, kVocab - 1, {batch, kContext}, torch::kLong);
  t = torch::where(t == kEot, t + 1, t);
  if (batch < 5) return t;
  t[0][3] = kEot;
  t[1][7] = kEot;
  t[1][12] = kEot;
  t[2][5] = kVocab - 1;
  t[2][10] = kEot;
  t[3][kContext - 1] = kEot;
  return t;
}

void check_against(const std::filesystem::path& dir, const std::vector<Case>& cases,
                   const std::vector<std::vector<at::Tensor>>& expected, const std::string& what) {
  for (size_t i = 0; i < cases.size(); ++i)
    loom::test::check_onnx_embeddings(dir, cases[i].name, expected[i], what, kTolerance);
}

}  // namespace

TEST_CASE("CLIP image tower exports match Clip::encode_image in onnxruntime for every pooling and activation",
          "[export][onnx][clip]") {
  torch::manual_seed(11);
  const auto dir = loom::test::scratch("onnx_clip_image");
  std::vector<Case> cases;
  cases.push_back({"tok_quick_gelu", small_clip()});
  cases.back().options.quick_gelu = true;
  cases.push_back({"avg_no_class_token_gelu_no_ln_pre", small_clip()});
  cases.back().options.vision.class_token = false;
  cases.back().options.vision.pool = "avg";
  cases.back().options.vision.ln_pre = false;
  cases.push_back({"avg_class_token_gelu_tanh_unnormalised", small_clip(), false});
  cases.back().options.vision.pool = "avg";
  cases.back().options.vision.act = "gelu_tanh";
  cases.back().options.vision.heads = 2;
  cases.push_back({"cropped_pe_siglip_preprocess", small_clip()});
  cases.back().options.vision.cropped_pe.enabled = true;
  cases.back().options.vision.cropped_pe.upsample = 7;
  cases.back().options.vision.ln_eps = 1e-6;
  cases.back().options.preprocess.mean = {0.5, 0.5, 0.5};
  cases.back().options.preprocess.std = {0.5, 0.5, 0.5};

  const std::vector<int64_t> batches{3, 1};
  std::vector<std::vector<at::Tensor>> expected;
  for (const Case& c : cases) {
    auto clip = random_clip(c.options);
    torch::NoGradGuard no_grad;
    auto exported = loom::onnx::clip_image_graph(*clip, {}, c.normalize);
    loom::onnx::write_model(dir / (c.name + ".onnx"), exported.graph, exported.info);
    expected.emplace_back();
    for (size_t k = 0; k < batches.size(); ++k) {
      const at::Tensor image = torch::rand({batches[k], 3, 32, 32});
      loom::test::write_onnx_inputs(dir, c.name, static_cast<int>(k), {{"image", image}});
      expected.back().push_back(loom::test::encode_unit_images(*clip, image, c.normalize));
    }
  }
  loom::test::run_onnx_models(dir);
  check_against(dir, cases, expected, "clip_image");
  const auto meta = loom::test::onnx_meta(dir, cases.back().name);
  CHECK(meta["inputs"]["image"] == nlohmann::json::array({"batch", 3, 32, 32}));
  const auto preprocess = nlohmann::json::parse(meta["metadata"]["loom.preprocess"].get<std::string>());
  CHECK(preprocess["mean"] == nlohmann::json::array({0.5, 0.5, 0.5}));
  CHECK(preprocess["image_size"] == 32);
  CHECK(preprocess["resize_mode"] == "shortest");
}

TEST_CASE("CLIP text tower exports match Clip::encode_text in onnxruntime for every pooling and projection",
          "[export][onnx][clip]") {
  torch::manual_seed(12);
  const auto dir = loom::test::scratch("onnx_clip_text");
  std::vector<Case> cases;
  cases.push_back({"eot_gelu", small_clip()});
  cases.push_back({"argmax_quick_gelu_layer_scale", small_clip()});
  cases.back().options.text.pool = "argmax";
  cases.back().options.text.act = "quick_gelu";
  cases.back().options.text.ls_init_value = 0.5;
  cases.push_back({"last_bidirectional_proj_bias_gelu_tanh", small_clip()});
  cases.back().options.text.pool = "last";
  cases.back().options.text.causal = false;
  cases.back().options.text.proj_bias = true;
  cases.back().options.text.act = "gelu_tanh";
  cases.push_back({"first_no_projection_unnormalised", small_clip(), false});
  cases.back().options.text.pool = "first";
  cases.back().options.text.proj_type = "none";
  cases.back().options.text.heads = 4;

  const std::vector<int64_t> batches{5, 2};
  std::vector<std::vector<at::Tensor>> expected;
  for (const Case& c : cases) {
    auto clip = random_clip(c.options);
    torch::NoGradGuard no_grad;
    auto exported = loom::onnx::clip_text_graph(*clip, {}, c.normalize);
    loom::onnx::write_model(dir / (c.name + ".onnx"), exported.graph, exported.info);
    expected.emplace_back();
    for (size_t k = 0; k < batches.size(); ++k) {
      const at::Tensor ids = tokens(batches[k]);
      loom::test::write_onnx_inputs(dir, c.name, static_cast<int>(k), {{"tokens", ids}});
      expected.back().push_back(clip->encode_text(ids, c.normalize));
    }
  }
  loom::test::run_onnx_models(dir);
  check_against(dir, cases, expected, "clip_text");
  const auto meta = loom::test::onnx_meta(dir, "eot_gelu");
  CHECK(meta["inputs"]["tokens"] == nlohmann::json::array({"batch", kContext}));
  const auto tokenizer = nlohmann::json::parse(meta["metadata"]["loom.tokenizer"].get<std::string>());
  CHECK(tokenizer["eot_token_id"] == kEot);
  CHECK(tokenizer["context_length"] == kContext);
  CHECK(tokenizer["name"] == "clip");
  CHECK(loom::test::onnx_meta(dir, "first_no_projection_unnormalised")["outputs"]["embedding"][1] == 32);
}

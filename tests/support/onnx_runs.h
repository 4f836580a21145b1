#pragma once
// ONNX export tests' side of tests/python/onnx_runtime_check.py: a folder of <name>.onnx files with
// input sets <name>.in<k>.safetensors, checked and run by PyPI onnx and onnxruntime in one Python
// process, whose outputs <name>.out<k>.safetensors and <name>.meta.json are read back here.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <torch/nn/module.h>

#include "core/io/weights.h"
#include "core/text/cat.h"
#include "models/clip/image_text_model.h"
#include "support/test_env.h"

namespace loom::test {

// Parameters moved off their initial values (zero biases and noise strengths, unit BatchNorm) so every
// term of a forward shows in the output; BatchNorm statistics and w_avg drawn too.
inline void randomize_for_export(torch::nn::Module& m) {
  c10::NoGradGuard no_grad;
  for (auto& p : m.named_parameters()) p.value().add_(at::randn_like(p.value()) * 0.2);
  for (auto& b : m.named_buffers()) {
    if (b.key().ends_with("running_var")) b.value().uniform_(0.5, 1.5);
    if (b.key().ends_with("running_mean") || b.key().ends_with("w_avg")) b.value().normal_(0.0, 0.2);
  }
}

// int64 inputs (token ids) stay int64, every other one goes as float32.
inline void write_onnx_inputs(const std::filesystem::path& dir, const std::string& name, int run,
                              const weights::NamedTensors& inputs) {
  weights::NamedTensors contiguous;
  for (const auto& [key, t] : inputs)
    contiguous.emplace_back(key, t.detach().to(t.scalar_type() == at::kLong ? at::kLong : at::kFloat).contiguous());
  weights::write((dir / cat(name, ".in", run, ".safetensors")).string(), contiguous);
}

// Checks and runs every model of `dir` (REQUIREs success).
inline void run_onnx_models(const std::filesystem::path& dir) {
  REQUIRE(run_python("onnx_runtime_check.py", dir.string()) == 0);
}

inline at::Tensor onnx_output(const std::filesystem::path& dir, const std::string& name, int run,
                              const std::string& output) {
  for (auto& [key, t] : weights::read((dir / cat(name, ".out", run, ".safetensors")).string()))
    if (key == output) return t;
  FAIL("no output " << output << " in " << name << ".out" << run << ".safetensors");
  return {};
}

inline nlohmann::json onnx_meta(const std::filesystem::path& dir, const std::string& name) {
  return nlohmann::json::parse(read_text(dir / (name + ".meta.json")));
}

// max |a − b| relative to the reference's scale (at least 1), the tolerance's unit.
inline double relative_error(const at::Tensor& actual, const at::Tensor& expected) {
  REQUIRE(actual.sizes() == expected.sizes());
  const double scale = std::max(1.0, expected.abs().max().item<double>());
  return (actual - expected).abs().max().item<double>() / scale;
}

// What an exported clip_image graph computes, in Loom: images in [0, 1] through the model's
// preprocessing mean/std, then encode_image.
inline at::Tensor encode_unit_images(ImageTextModel& model, const at::Tensor& images, bool normalize) {
  const auto& p = model.preprocess();
  const at::Tensor mean = at::tensor(p.mean, at::kDouble).narrow(0, 0, 3).to(at::kFloat).view({1, 3, 1, 1});
  const at::Tensor std = at::tensor(p.std, at::kDouble).narrow(0, 0, 3).to(at::kFloat).view({1, 3, 1, 1});
  return model.encode_image((images - mean) / std, normalize);
}

// The "embedding" output of model `name`'s runs against `expected` (one tensor per run) within
// `tolerance` (relative_error), and the graph's loom.what and symbolic batch.
inline void check_onnx_embeddings(const std::filesystem::path& dir, const std::string& name,
                                  const std::vector<at::Tensor>& expected, const std::string& what, double tolerance) {
  INFO(name);
  for (size_t k = 0; k < expected.size(); ++k) {
    INFO("run " << k << ", batch " << expected[k].size(0));
    const at::Tensor embedding = onnx_output(dir, name, static_cast<int>(k), "embedding");
    CHECK(relative_error(embedding, expected[k]) < tolerance);
  }
  const auto meta = onnx_meta(dir, name);
  CHECK(meta["metadata"]["loom.what"] == what);
  CHECK(meta["outputs"]["embedding"][0] == "batch");
}

}  // namespace loom::test

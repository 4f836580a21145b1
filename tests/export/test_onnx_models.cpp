// ONNX exports of the BlazeStyleGAN student (W+ -> image) and the stylizer (image -> encoder -> + w_avg ->
// student -> image), with random weights, pass PyPI onnx's checker and match Loom's forward in
// onnxruntime within 1e-4 (relative to the output's scale, at least 1): every conv / upsample / head
// combination of the student, clamps, separate head ws, both noise modes, z through the mapping with
// truncation; the StyleGAN2 teacher's synthesis (clamped, both noise modes, and from z); the stylizer in pSp and e4e
// mode as `loom stylize` computes it, its dynamic-batch graph at two batch sizes and a batch-1 graph.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <vector>

#include "export/model_graphs.h"
#include "export/onnx_writer.h"
#include "models/blazestylegan/blazestylegan.h"
#include "models/encoder/mobilenet_v2_encoder.h"
#include "models/encoder/pretrained_encoder.h"
#include "models/stylegan2/generator.h"
#include "support/onnx_runs.h"
#include "support/small_teacher.h"

namespace {

using loom::test::small_student;

constexpr double kTolerance = 1e-4;

struct Case {
  std::string name;
  loom::BlazeStyleGanOptions options;
  loom::NoiseMode noise = loom::NoiseMode::constant;
};

}  // namespace

TEST_CASE("BlazeStyleGAN generator exports match Loom's forward in onnxruntime for every student setting",
          "[export][onnx][blazestylegan]") {
  torch::manual_seed(3);
  const auto dir = loom::test::scratch("onnx_generator");
  std::vector<Case> cases;
  for (const char* conv : {"depthwise", "full"})
    for (const char* upsample : {"haar", "transposed", "bilinear"})
      for (const char* final_upsample : {"none", "haar", "pixel_shuffle"})
        cases.push_back(
            {loom::cat(conv, "_", upsample, "_", final_upsample), small_student(conv, upsample, final_upsample)});
  Case clamped{"mobilestylegan_like", small_student("depthwise", "haar", "haar")};
  clamped.options.first_conv = "full";
  clamped.options.head_ws = "separate";
  clamped.options.conv_clamp = 0.5;
  cases.push_back(clamped);
  cases.push_back({"no_noise", small_student("depthwise", "haar", "haar"), loom::NoiseMode::none});

  const std::vector<int64_t> batches{1, 3};
  std::vector<std::vector<at::Tensor>> expected;
  for (const Case& c : cases) {
    loom::BlazeSynthesis synthesis(c.options);
    loom::test::randomize_for_export(*synthesis);
    synthesis->eval();
    torch::NoGradGuard no_grad;
    auto exported = loom::onnx::generator_graph(*synthesis, {.dynamic_batch = true, .noise = c.noise});
    loom::onnx::write_model(dir / (c.name + ".onnx"), exported.graph, exported.info);
    expected.emplace_back();
    for (size_t k = 0; k < batches.size(); ++k) {
      const at::Tensor ws = torch::randn({batches[k], synthesis->num_ws(), c.options.w_dim});
      loom::test::write_onnx_inputs(dir, c.name, static_cast<int>(k), {{"ws", ws}});
      expected.back().push_back(synthesis->forward(ws, c.noise, {}, /*all_levels=*/false).image);
    }
  }
  loom::test::run_onnx_models(dir);
  for (size_t i = 0; i < cases.size(); ++i) {
    INFO(cases[i].name);
    for (size_t k = 0; k < batches.size(); ++k) {
      INFO("batch " << batches[k]);
      const at::Tensor image = loom::test::onnx_output(dir, cases[i].name, static_cast<int>(k), "image");
      CHECK(loom::test::relative_error(image, expected[i][k]) < kTolerance);
    }
    const auto meta = loom::test::onnx_meta(dir, cases[i].name);
    CHECK(meta["inputs"]["ws"][0] == "batch");
    CHECK(meta["metadata"]["loom.what"] == "generator");
  }
}

TEST_CASE("a generator export from z through the student's mapping network matches Loom with truncation",
          "[export][onnx][blazestylegan]") {
  torch::manual_seed(8);
  const auto dir = loom::test::scratch("onnx_generator_z");
  loom::BlazeStyleGanOptions o = small_student("depthwise", "haar", "haar");
  o.z_dim = 16;
  o.mapping_layers = 2;
  loom::BlazeStyleGan student(o);
  loom::test::randomize_for_export(student);
  student.eval();
  torch::NoGradGuard no_grad;
  const std::vector<loom::onnx::Truncation> truncations{{1.0, -1}, {0.7, -1}, {0.5, 2}};
  std::vector<at::Tensor> expected;
  for (size_t i = 0; i < truncations.size(); ++i) {
    const std::string name = loom::cat("z", i);
    auto exported = loom::onnx::generator_graph(*student.synthesis, {}, student.mapping.get(), truncations[i]);
    loom::onnx::write_model(dir / (name + ".onnx"), exported.graph, exported.info);
    const at::Tensor z = torch::randn({3, o.z_dim});
    loom::test::write_onnx_inputs(dir, name, 0, {{"z", z}});
    // The mapping broadcasts the teacher's 8 ws; the synthesis reads the first 6.
    const at::Tensor ws = student.mapping->forward(z, {}, truncations[i].psi, truncations[i].cutoff);
    expected.push_back(student.synthesis->forward(ws, loom::NoiseMode::constant, {}, false).image);
  }
  loom::test::run_onnx_models(dir);
  for (size_t i = 0; i < truncations.size(); ++i) {
    INFO("psi " << truncations[i].psi << " cutoff " << truncations[i].cutoff);
    const at::Tensor image = loom::test::onnx_output(dir, loom::cat("z", i), 0, "image");
    CHECK(loom::test::relative_error(image, expected[i]) < kTolerance);
  }
}

TEST_CASE("StyleGAN2 generator exports match Loom's synthesis in onnxruntime", "[export][onnx][stylegan2]") {
  torch::manual_seed(9);
  const auto dir = loom::test::scratch("onnx_teacher");
  loom::StyleGan2Options o = loom::test::small_teacher();
  o.conv_clamp = 0.8;  // tight enough to clip some outputs of random weights
  loom::Generator teacher(o);
  loom::test::randomize_for_export(*teacher);
  teacher->eval();
  torch::NoGradGuard no_grad;
  struct Run {
    std::string name;
    loom::NoiseMode noise;
    bool from_z;
  };
  const std::vector<Run> runs{{"teacher_const", loom::NoiseMode::constant, false},
                              {"teacher_none", loom::NoiseMode::none, false},
                              {"teacher_z", loom::NoiseMode::constant, true}};
  const loom::onnx::Truncation truncation{0.7, -1};
  std::vector<std::vector<at::Tensor>> expected;
  for (const Run& run : runs) {
    auto exported = loom::onnx::generator_graph(*teacher->synthesis, {.dynamic_batch = true, .noise = run.noise},
                                                run.from_z ? teacher->mapping.get() : nullptr, truncation);
    loom::onnx::write_model(dir / (run.name + ".onnx"), exported.graph, exported.info);
    expected.emplace_back();
    for (int k = 0; k < 2; ++k) {
      const int64_t batch = k == 0 ? 1 : 3;
      at::Tensor input =
          run.from_z ? torch::randn({batch, o.z_dim}) : torch::randn({batch, teacher->num_ws(), o.w_dim});
      loom::test::write_onnx_inputs(dir, run.name, k, {{run.from_z ? "z" : "ws", input}});
      if (run.from_z) input = teacher->mapping->forward(input, {}, truncation.psi, truncation.cutoff);
      expected.back().push_back(teacher->synthesis->forward(input, run.noise));
    }
  }
  loom::test::run_onnx_models(dir);
  for (size_t i = 0; i < runs.size(); ++i) {
    INFO(runs[i].name);
    for (int k = 0; k < 2; ++k)
      CHECK(loom::test::relative_error(loom::test::onnx_output(dir, runs[i].name, k, "image"), expected[i][k]) <
            kTolerance);
    CHECK(loom::test::onnx_meta(dir, runs[i].name)["metadata"]["loom.family"] == "StyleGAN2 generator");
  }
}

TEST_CASE("stylizer exports match loom stylize's computation in onnxruntime at two batch sizes and at batch 1",
          "[export][onnx][stylizer]") {
  torch::manual_seed(4);
  const auto dir = loom::test::scratch("onnx_stylizer");
  // Separate head ws: 5 convs + 3 heads = 8 ws, so the encoder's 3 / 4 / 1 split builds both laterals.
  loom::BlazeStyleGanOptions s = small_student("depthwise", "haar", "haar");
  s.head_ws = "separate";
  loom::BlazeSynthesis synthesis(s);
  loom::test::randomize_for_export(*synthesis);
  synthesis->eval();
  const at::Tensor w_avg = torch::randn({s.w_dim});

  struct Run {
    std::string name;
    bool progressive, dynamic_batch;
    std::vector<int64_t> batches;
  };
  const std::vector<Run> runs{
      {"psp", false, true, {1, 4}}, {"e4e", true, true, {2, 3}}, {"psp_batch1", false, false, {1}}};
  std::vector<std::vector<at::Tensor>> expected;
  for (const Run& run : runs) {
    torch::manual_seed(5);  // psp and psp_batch1 get one encoder
    loom::MobileNetV2Encoder encoder(loom::test::small_encoder(s, synthesis->num_ws(), run.progressive));
    loom::test::randomize_for_export(encoder);
    encoder.eval();
    torch::NoGradGuard no_grad;
    auto exported = loom::onnx::stylizer_graph(encoder, *synthesis, w_avg, {.dynamic_batch = run.dynamic_batch});
    loom::onnx::write_model(dir / (run.name + ".onnx"), exported.graph, exported.info);
    expected.emplace_back();
    for (size_t k = 0; k < run.batches.size(); ++k) {
      const at::Tensor image = torch::rand({run.batches[k], 3, s.resolution, s.resolution});
      loom::test::write_onnx_inputs(dir, run.name, static_cast<int>(k), {{"image", image}});
      // app/stylize.cpp's steps for a batch of aligned crops.
      const at::Tensor ws = loom::invert(encoder, image * 2 - 1, w_avg);
      expected.back().push_back(
          ((synthesis->forward(ws, loom::NoiseMode::constant, {}, false).image + 1) / 2).clamp(0, 1));
    }
  }
  loom::test::run_onnx_models(dir);
  for (size_t i = 0; i < runs.size(); ++i) {
    INFO(runs[i].name);
    for (size_t k = 0; k < runs[i].batches.size(); ++k) {
      INFO("batch " << runs[i].batches[k]);
      const at::Tensor stylized = loom::test::onnx_output(dir, runs[i].name, static_cast<int>(k), "stylized");
      CHECK((stylized - expected[i][k]).abs().max().item<double>() < kTolerance);
    }
    const auto meta = loom::test::onnx_meta(dir, runs[i].name);
    const nlohmann::json batch = runs[i].dynamic_batch ? nlohmann::json("batch") : nlohmann::json(1);
    CHECK(meta["inputs"]["image"] == nlohmann::json::array({batch, 3, s.resolution, s.resolution}));
    CHECK(meta["outputs"]["stylized"] == nlohmann::json::array({batch, 3, s.resolution, s.resolution}));
    CHECK(meta["metadata"]["loom.what"] == "stylizer");
    // Activation-side modulation and the Haar heads: no per-sample weights, DepthToSpace present.
    const auto& ops = meta["ops"];
    CHECK(std::find(ops.begin(), ops.end(), "DepthToSpace") != ops.end());
    CHECK(std::find(ops.begin(), ops.end(), "BatchNormalization") != ops.end());
  }
}

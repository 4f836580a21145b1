// float16 exports (Graph::convert_to_float16): float32 inputs and outputs, float16 weights (half the
// bytes) and arithmetic, run by onnxruntime and compared with Loom's float32 forward. The tolerance is
// float16's: 3e-2 at most and 3e-3 on average, relative to the output's scale (at least 1), for the
// stylizer of a student with both conv kinds, a StyleGAN2 generator whose demodulation sums would
// leave float16's range without NVlabs' rescaling (large styles), and the CLIP and SigLIP towers'
// embeddings.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "export/model_graphs.h"
#include "export/onnx_writer.h"
#include "models/blazestylegan/blazestylegan.h"
#include "models/clip/clip.h"
#include "models/clip/siglip.h"
#include "models/encoder/mobilenet_v2_encoder.h"
#include "models/encoder/pretrained_encoder.h"
#include "models/stylegan2/generator.h"
#include "support/onnx_runs.h"
#include "support/small_clip.h"
#include "support/small_teacher.h"

namespace {

constexpr double kMaxError = 3e-2, kMeanError = 3e-3;

// Writes `exported` in float32 and float16 (as <name>.onnx and <name>_fp16.onnx) with the same inputs;
// returns the float16 graph's weight bytes over the float32 graph's.
double write_both(const std::filesystem::path& dir, const std::string& name, loom::onnx::ExportedGraph fp32,
                  loom::onnx::ExportedGraph fp16, const loom::weights::NamedTensors& inputs) {
  fp16.graph.convert_to_float16();
  loom::onnx::write_model(dir / (name + ".onnx"), fp32.graph, fp32.info);
  loom::onnx::write_model(dir / (name + "_fp16.onnx"), fp16.graph, fp16.info);
  loom::test::write_onnx_inputs(dir, name, 0, inputs);
  loom::test::write_onnx_inputs(dir, name + "_fp16", 0, inputs);
  return static_cast<double>(fp16.graph.initializer_bytes()) / static_cast<double>(fp32.graph.initializer_bytes());
}

}  // namespace

TEST_CASE(
    "float16 exports of the stylizer, a StyleGAN2 generator and the CLIP towers match Loom's float32 within "
    "float16's tolerance",
    "[export][onnx][float16]") {
  torch::manual_seed(12);
  const auto dir = loom::test::scratch("onnx_float16");
  torch::NoGradGuard no_grad;

  loom::BlazeStyleGanOptions s = loom::test::small_student("depthwise", "haar", "haar");
  s.first_conv = "full";
  loom::BlazeSynthesis synthesis(s);
  loom::test::randomize_for_export(*synthesis);
  synthesis->eval();
  loom::MobileNetV2Encoder encoder(loom::test::small_encoder(s, synthesis->num_ws()));
  loom::test::randomize_for_export(encoder);
  encoder.eval();
  const at::Tensor w_avg = torch::randn({s.w_dim});
  const at::Tensor image = torch::rand({2, 3, s.resolution, s.resolution});
  const double stylizer_bytes =
      write_both(dir, "stylizer", loom::onnx::stylizer_graph(encoder, *synthesis, w_avg, {}),
                 loom::onnx::stylizer_graph(encoder, *synthesis, w_avg, {.float16 = true}), {{"image", image}});
  const at::Tensor stylized =
      ((synthesis->forward(loom::invert(encoder, image * 2 - 1, w_avg), loom::NoiseMode::constant, {}, false).image +
        1) /
       2)
          .clamp(0, 1);

  loom::Generator teacher(loom::test::small_teacher());
  loom::test::randomize_for_export(*teacher);
  teacher->eval();
  // ws far from the origin: styles of about 24, demodulation sums Σ s²·w² near 80,000 per output
  // channel, beyond float16's 65,504 unless rescaled.
  const at::Tensor ws = torch::randn({2, teacher->num_ws(), 16}) * 24;
  const double teacher_bytes =
      write_both(dir, "teacher", loom::onnx::generator_graph(*teacher->synthesis, {}),
                 loom::onnx::generator_graph(*teacher->synthesis, {.float16 = true}), {{"ws", ws}});
  const at::Tensor generated = teacher->synthesis->forward(ws, loom::NoiseMode::constant);

  loom::Clip clip(loom::test::small_clip());
  loom::SigLip siglip(loom::test::small_siglip());
  const at::Tensor pixels = torch::rand({2, 3, 32, 32});
  at::Tensor tokens = torch::randint(0, loom::test::kEot, {2, loom::test::kContext}, torch::kLong);
  tokens[0][5] = loom::test::kEot;
  tokens[1][11] = loom::test::kEot;
  std::vector<double> ratios{stylizer_bytes, teacher_bytes};
  std::vector<std::pair<std::string, at::Tensor>> checks{{"stylizer", stylized}, {"teacher", generated}};
  const std::vector<std::pair<std::string, loom::ImageTextModel*>> image_text{{"clip", &clip}, {"siglip", &siglip}};
  for (const auto& [family, model] : image_text) {
    loom::test::randomize_for_export(*model);
    model->eval();
    ratios.push_back(write_both(dir, family + "_image", loom::onnx::clip_image_graph(*model, {}),
                                loom::onnx::clip_image_graph(*model, {.float16 = true}), {{"image", pixels}}));
    ratios.push_back(write_both(dir, family + "_text", loom::onnx::clip_text_graph(*model, {}),
                                loom::onnx::clip_text_graph(*model, {.float16 = true}), {{"tokens", tokens}}));
    checks.emplace_back(family + "_image", loom::test::encode_unit_images(*model, pixels, true));
    checks.emplace_back(family + "_text", model->encode_text(tokens, true));
  }

  loom::test::run_onnx_models(dir);
  for (double ratio : ratios) CHECK(ratio == Approx(0.5).margin(0.01));
  for (const auto& [name, expected] : checks) {
    INFO(name);
    const std::string output = name == "stylizer" ? "stylized" : name == "teacher" ? "image" : "embedding";
    const at::Tensor fp32 = loom::test::onnx_output(dir, name, 0, output);
    const at::Tensor fp16 = loom::test::onnx_output(dir, name + "_fp16", 0, output);
    REQUIRE(fp16.scalar_type() == at::kFloat);  // float32 outputs
    const double scale = std::max(1.0, expected.abs().max().item<double>());
    const double max_error = (fp16 - expected).abs().max().item<double>() / scale;
    const double mean_error = (fp16 - expected).abs().mean().item<double>() / scale;
    WARN(name << ": float16 max error " << max_error << ", mean " << mean_error << " (float32 graph "
              << loom::test::relative_error(fp32, expected) << ")");
    CHECK(max_error < kMaxError);
    CHECK(mean_error < kMeanError);
    CHECK(loom::test::relative_error(fp32, expected) < 1e-4);
    CHECK(loom::test::onnx_meta(dir, name + "_fp16")["inputs"].begin().value()[0] == "batch");
  }
}

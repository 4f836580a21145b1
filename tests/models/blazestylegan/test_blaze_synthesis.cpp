// The student synthesis network: per-level shapes for every conv / upsample / final_upsample
// combination, the last head alone at inference, shared noise maps, hand-counted parameters and
// mult-adds, float64 gradient checks of the depthwise modulated conv, the layer and the head, and the
// errors (too few ws, wrong noise maps, config keys).
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "core/config/config_error.h"
#include "core/config/config_loader.h"
#include "core/registry/registries.h"
#include "models/blazestylegan/blazestylegan.h"
#include "models/stylegan2/stylegan2.h"
#include "nn/upfirdn2d.h"
#include "support/gradient_check.h"
#include "support/small_teacher.h"

namespace {

using loom::test::small_student;
using loom::test::small_teacher;

using loom::BlazeStyleGanOptions;
using loom::NoiseMode;

void set_noise_strength(torch::nn::Module& m, double value) {
  torch::NoGradGuard no_grad;
  for (auto& p : m.named_parameters())
    if (p.key().ends_with("noise_strength")) p.value().fill_(value);
}

int64_t count(const torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

std::shared_ptr<loom::Model> from_yaml(const std::string& model_yaml) {
  const loom::ConfigNode config = loom::parse_yaml("model:\n" + model_yaml, "student.yaml");
  return loom::model_registry().get("blazestylegan")(*config.find("model"), "model");
}

}  // namespace

TEST_CASE("BlazeStyleGAN levels have the RGB side of every setting combination", "[blazestylegan][synthesis]") {
  torch::manual_seed(1);
  for (const char* conv : {"depthwise", "full"})
    for (const char* upsample : {"haar", "transposed", "bilinear"})
      for (const char* final_upsample : {"none", "haar", "pixel_shuffle"}) {
        INFO(conv << " " << upsample << " " << final_upsample);
        const BlazeStyleGanOptions o = small_student(conv, upsample, final_upsample);
        loom::BlazeSynthesis synthesis(o);
        set_noise_strength(*synthesis, 0.5);
        const std::vector<int64_t> sides = synthesis->level_resolutions();
        CHECK(sides == (std::string(final_upsample) == "none" ? std::vector<int64_t>{4, 8, 16, 32}
                                                              : std::vector<int64_t>{8, 16, 32}));
        CHECK(synthesis->num_ws() == (std::string(final_upsample) == "none" ? 8 : 6));
        const at::Tensor ws = torch::randn({2, 8, 16});  // the teacher's 8; the student reads its first
        const loom::StudentImages out = synthesis->forward(ws, NoiseMode::constant);
        REQUIRE(out.levels.size() == sides.size());
        for (size_t l = 0; l < sides.size(); ++l)
          CHECK(out.levels[l].sizes() == at::IntArrayRef({2, 3, sides[l], sides[l]}));
        CHECK(out.image.sizes() == at::IntArrayRef({2, 3, 32, 32}));
        CHECK(torch::equal(out.image, out.levels.back()));
        CHECK(torch::isfinite(out.image).all().item<bool>());
        // Inference runs the last head only and gives the same image.
        const loom::StudentImages last = synthesis->forward(ws, NoiseMode::constant, {}, false);
        CHECK(last.levels.empty());
        CHECK(torch::allclose(last.image, out.image, 1e-6, 1e-6));
        CHECK(synthesis->multiply_accumulates(true) > synthesis->multiply_accumulates());
      }
}

TEST_CASE("BlazeStyleGAN parameters and mult-adds equal a hand count", "[blazestylegan][counts]") {
  BlazeStyleGanOptions o = small_student("depthwise", "bilinear", "none");
  o.resolution = 16;
  o.channels = {8, 4, 4};
  // const 128; b4: conv1 281, head 163; b8: conv0 245, conv1 125, head 83; b16: 125, 125, 83.
  CHECK(count(*loom::BlazeSynthesis(o)) == 1358);
  // Per sample: b4.conv1 2304; b8 6784 + 3392; b16 13376 + 13376; the b16 head 3136.
  CHECK(loom::BlazeSynthesis(o)->multiply_accumulates() == 42368);
  // Transposed: the depthwise 3x3 of each conv0 at its input side (1152 and 2304 instead of 4608 and 9216).
  o.upsample = "transposed";
  CHECK(loom::BlazeSynthesis(o)->multiply_accumulates() == 32000);
  // full: b8.conv0 8→4 costs 9·8·4 per input pixel of 16, plus its affine 128.
  o.conv = "full";
  loom::BlazeSynthesis full(o);
  CHECK(full->levels()[1]->conv0->multiply_accumulates() == 16 * 9 * 8 * 4 + 128);
}

TEST_CASE("BlazeStyleGAN and its teacher give the same outputs for the same noise maps", "[blazestylegan][noise]") {
  torch::manual_seed(2);
  loom::StyleGan2 teacher(small_teacher());
  set_noise_strength(*teacher.G, 0.5);
  const at::Tensor ws = torch::randn({2, 8, 16});
  const std::vector<at::Tensor> noise = teacher.G->synthesis->random_noise(2, torch::kCPU);
  REQUIRE(noise.size() == 7);
  CHECK(noise[2].sizes() == at::IntArrayRef({2, 1, 8, 8}));  // b8.conv1
  CHECK(torch::equal(teacher.G->synthesis->forward(ws, NoiseMode::random, false, noise),
                     teacher.G->synthesis->forward(ws, NoiseMode::random, false, noise)));
  for (const char* final_upsample : {"none", "haar"}) {
    INFO(final_upsample);
    loom::BlazeSynthesis student(small_student("depthwise", "haar", final_upsample));
    set_noise_strength(*student, 0.5);
    const at::Tensor a = student->forward(ws, NoiseMode::random, noise).image;
    CHECK(torch::equal(a, student->forward(ws, NoiseMode::random, noise).image));
    // The maps are read: another set changes the image.
    const std::vector<at::Tensor> other = teacher.G->synthesis->random_noise(2, torch::kCPU);
    CHECK_FALSE(torch::allclose(a, student->forward(ws, NoiseMode::random, other).image));
    // Given maps equal the same maps in noise_const under the const mode; [r, r] maps broadcast.
    std::vector<at::Tensor> single;
    for (const at::Tensor& map : noise) single.push_back(map[0][0]);
    {
      torch::NoGradGuard no_grad;
      for (const auto& level : student->levels()) {
        const int64_t r = level->resolution();
        if (level->conv0) level->conv0->noise_const.copy_(single[loom::noise_map_index(r, 0)]);
        level->conv1->noise_const.copy_(single[loom::noise_map_index(r, 1)]);
      }
    }
    CHECK(torch::allclose(student->forward(ws, NoiseMode::none, single).image,
                          student->forward(ws, NoiseMode::constant).image, 1e-6, 1e-6));
  }
}

TEST_CASE("BlazeStyleGAN depthwise modulated conv and UpToRGB pass float64 gradient checks", "[blazestylegan][grad]") {
  torch::manual_seed(4);
  const auto f64 = torch::kDouble;
  const at::Tensor filter = loom::nn::make_resample_filter().to(f64);
  for (const at::Tensor& resample : {at::Tensor(), filter}) {
    INFO("upsampling " << resample.defined());
    const int64_t side = resample.defined() ? 8 : 4;
    const at::Tensor probe = torch::randn({2, 4, side, side}, f64);
    auto fn = [&](const std::vector<at::Tensor>& in) {
      return (loom::modulated_depthwise_conv2d(in[0], in[1], in[2], in[3], resample) * probe).sum();
    };
    const std::vector<at::Tensor> inputs{torch::randn({2, 3, 4, 4}, f64), torch::randn({3, 1, 3, 3}, f64),
                                         torch::randn({4, 3, 1, 1}, f64), torch::rand({2, 3}, f64) + 0.5};
    CHECK(loom::test::gradient_check_error(fn, inputs) < 1e-6);
    // The whole layer (tanh styles, bias, leaky ReLU) with respect to its input and w.
    loom::StudentLayer layer(3, 4, 5, side, loom::StudentConv::depthwise, resample.defined(), std::nullopt);
    layer->to(f64);
    auto layer_fn = [&](const std::vector<at::Tensor>& in) {
      return (layer->forward(in[0], in[1], NoiseMode::none) * probe).sum();
    };
    CHECK(loom::test::gradient_check_error(layer_fn, {inputs[0], torch::randn({2, 5}, f64)}) < 1e-6);
  }
  for (auto final_upsample :
       {loom::FinalUpsample::none, loom::FinalUpsample::haar, loom::FinalUpsample::pixel_shuffle}) {
    loom::UpToRgb head(4, 3, 5, 4, final_upsample, std::nullopt);
    head->to(f64);
    const int64_t side = 4 * head->output_scale();
    const at::Tensor probe = torch::randn({2, 3, side, side}, f64);
    auto fn = [&](const std::vector<at::Tensor>& in) { return (head->forward(in[0], in[1]) * probe).sum(); };
    CHECK(loom::test::gradient_check_error(fn, {torch::randn({2, 4, 4, 4}, f64), torch::randn({2, 5}, f64)}) < 1e-6);
  }
}

TEST_CASE("BlazeStyleGAN rejects too few ws, wrong noise maps and bad config keys", "[blazestylegan][errors]") {
  loom::BlazeSynthesis synthesis(small_student("depthwise", "haar", "haar"));
  const at::Tensor ws = torch::randn({2, 6, 16});
  CHECK_THROWS_WITH(synthesis->forward(ws.narrow(1, 0, 5)), Catch::Contains("ws must be [N, >= 6, 16]"));
  CHECK_THROWS_WITH(synthesis->forward(torch::randn({2, 6, 8})), Catch::Contains("ws must be"));
  loom::StyleGan2 teacher(small_teacher());
  std::vector<at::Tensor> noise = teacher.G->synthesis->random_noise(2, torch::kCPU);
  noise.resize(4);  // the student's levels 4, 8, 16 read 5 maps
  CHECK_THROWS_WITH(synthesis->forward(ws, NoiseMode::random, noise), Catch::Contains("4 noise maps given"));
  noise = teacher.G->synthesis->random_noise(2, torch::kCPU);
  noise[1] = torch::randn({16, 16});
  CHECK_THROWS_WITH(synthesis->forward(ws, NoiseMode::random, noise), Catch::Contains("synthesis.b8.conv0"));
  noise[1] = torch::randn({3, 1, 8, 8});  // batch 3 for 2 samples
  CHECK_THROWS_WITH(synthesis->forward(ws, NoiseMode::random, noise), Catch::Contains("synthesis.b8.conv0"));

  const std::string base = "  name: blazestylegan\n  resolution: 256\n";
  CHECK_THROWS_AS(from_yaml(base + "  channels: [256, 256, 256, 208, 208]\n"), loom::ConfigError);
  CHECK_THROWS_WITH(from_yaml(base + "  channels: [256, 256, 256, 208, 208]\n"),
                    Catch::Contains("model.channels") && Catch::Contains("6 levels"));
  const std::string channels = "  channels: [256, 256, 256, 208, 208, 208]\n";
  CHECK_NOTHROW(from_yaml(base + channels + "  num_ws: 12\n"));
  CHECK_THROWS_WITH(from_yaml(base + channels + "  num_ws: 13\n"),
                    Catch::Contains("model.num_ws") && Catch::Contains("larger"));
  CHECK_THROWS_WITH(from_yaml(base + channels + "  conv: separable\n"), Catch::Contains("model.conv"));
  CHECK_THROWS_WITH(from_yaml(base + channels + "  final_upsample: nearest\n"),
                    Catch::Contains("model.final_upsample"));
  CHECK_THROWS_WITH(from_yaml(base + "  channels: [256, 254, 256, 208, 208, 208]\n"),
                    Catch::Contains("model.channels[1]") && Catch::Contains("divisible by 4"));
  CHECK_THROWS_WITH(from_yaml(base + channels + "  head_ws: separate\n  num_ws: 17\n"),
                    Catch::Contains("model.teacher_num_ws"));
  CHECK_THROWS_WITH(from_yaml(base + "  resolution: 96\n" + channels), Catch::Contains("resolution"));
}

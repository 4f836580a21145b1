// Parity of Loom's CLIP with open_clip 3.3.0: open_clip state dicts load strictly without renaming, and
// image/text embeddings and logits match to 1e-5 relative error (max |a - b| / max |b|, float32).
// tests/python/open_clip_reference.py writes the weights and expected outputs once per test run.
#include <torch/torch.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <map>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "app/register_all.h"
#include "core/config/config_loader.h"
#include "core/io/weights.h"
#include "core/registry/registries.h"
#include "models/clip/clip.h"
#include "support/test_env.h"

namespace {

namespace fs = std::filesystem;
using loom::Clip;
using loom::ClipOptions;

constexpr double kTolerance = 1e-5;

// The reference files, generated on first use in this process.
const fs::path& reference_dir() {
  static const fs::path dir = [] {
    fs::path out = loom::test::scratch("clip_open_clip_reference");
    REQUIRE(loom::test::run_python("open_clip_reference.py", out.string()) == 0);
    return out;
  }();
  return dir;
}

std::map<std::string, at::Tensor> read_tensors(const fs::path& path) {
  std::map<std::string, at::Tensor> out;
  for (auto& [name, t] : loom::weights::read(path.string())) out[name] = t;
  return out;
}

double relative_error(const at::Tensor& actual, const at::Tensor& expected) {
  REQUIRE(actual.sizes() == expected.sizes());
  return (actual - expected).abs().max().item<double>() / expected.abs().max().item<double>();
}

std::shared_ptr<Clip> model_from_yaml(const fs::path& yaml) {
  loom::register_all();
  loom::ConfigNode config = loom::load_config(yaml.string());
  const loom::ConfigNode* section = config.find("model");
  REQUIRE(section);
  auto clip = std::dynamic_pointer_cast<Clip>(loom::model_registry().get("clip")(*section, "model"));
  REQUIRE(clip);
  return clip;
}

void load_strictly(Clip& clip, const fs::path& weights) {
  loom::weights::LoadReport report = loom::weights::load_file(clip, weights.string());
  INFO(report.summary());
  REQUIRE(report.ok());
}

struct Outputs {
  at::Tensor image, text, logits;
};

Outputs run(Clip& clip, const at::Tensor& images, const at::Tensor& tokens) {
  torch::NoGradGuard no_grad;
  clip.eval();
  Outputs out{clip.encode_image(images, false), clip.encode_text(tokens, false), {}};
  at::Tensor image_n = clip.encode_image(images, true), text_n = clip.encode_text(tokens, true);
  out.logits = clip.logit_scale_value() * image_n.matmul(text_n.t());
  if (clip.logit_bias_value().defined()) out.logits = out.logits + clip.logit_bias_value();
  return out;
}

// Compares against an .io.safetensors file; prints the errors for the record.
void check_outputs(const std::string& name, Clip& clip, const fs::path& io_file) {
  auto io = read_tensors(io_file);
  Outputs out = run(clip, io.at("images"), io.at("tokens"));
  double image = relative_error(out.image, io.at("image_features"));
  double text = relative_error(out.text, io.at("text_features"));
  double logits = relative_error(out.logits, io.at("logits"));
  std::printf("open_clip parity %-12s image %.3g  text %.3g  logits %.3g\n", name.c_str(), image, text, logits);
  CHECK(image <= kTolerance);
  CHECK(text <= kTolerance);
  CHECK(logits <= kTolerance);
}

ClipOptions small_options() {  // open_clip_reference.py's "small" case
  ClipOptions o;
  o.embed_dim = 48;
  o.quick_gelu = true;
  o.vision = {.image_size = 64, .patch_size = 8, .width = 96, .layers = 3, .heads = 3};
  o.text.vocab_size = 49500;
  o.text.width = 64;
  o.text.heads = 4;
  o.text.layers = 2;
  o.init_logit_bias = -10.0;
  return o;
}

ClipOptions avg_pool_options() {  // open_clip_reference.py's "avg_pool" case
  ClipOptions o;
  o.embed_dim = 48;
  o.vision = {.image_size = 64,
              .patch_size = 16,
              .width = 64,
              .layers = 2,
              .heads = 2,
              .act = "gelu_tanh",
              .ln_eps = 1e-6,
              .pool = "avg",
              .ln_pre = false};
  o.text.width = 64;
  o.text.heads = 2;
  o.text.layers = 2;
  return o;
}

using loom::test::run_command;

}  // namespace

TEST_CASE("open_clip ViT-B-32 loads strictly from configs/clip/models/vit_b32.yaml and matches", "[clip][open_clip]") {
  auto clip = model_from_yaml(loom::test::source_dir() / "configs/clip/models/vit_b32.yaml");
  load_strictly(*clip, reference_dir() / "vit_b32.weights.safetensors");
  check_outputs("ViT-B-32", *clip, reference_dir() / "vit_b32.io.safetensors");
}

TEST_CASE("a small QuickGELU CLIP with logit bias matches open_clip", "[clip][open_clip]") {
  Clip clip(small_options());
  REQUIRE(clip.logit_bias_value().defined());
  load_strictly(clip, reference_dir() / "small.weights.safetensors");
  check_outputs("small", clip, reference_dir() / "small.io.safetensors");
}

TEST_CASE("average pooling without ln_pre, tanh GELU and eps 1e-6 match open_clip", "[clip][open_clip]") {
  Clip clip(avg_pool_options());
  load_strictly(clip, reference_dir() / "avg_pool.weights.safetensors");
  check_outputs("avg_pool", clip, reference_dir() / "avg_pool.io.safetensors");
}

TEST_CASE("text pools at the end-of-text token even when a larger id precedes it", "[clip][open_clip]") {
  Clip clip(small_options());
  load_strictly(clip, reference_dir() / "small.weights.safetensors");
  auto io = read_tensors(reference_dir() / "small.io.safetensors");
  const at::Tensor& tokens = io.at("tokens");
  REQUIRE(tokens[3][2].item<int64_t>() == 49450);  // above the EOT id 49407, before the EOT at position 6
  REQUIRE(tokens[3].argmax().item<int64_t>() == 2);
  CHECK(clip.text->eot_positions(tokens)[3].item<int64_t>() == 6);
  at::Tensor text = run(clip, io.at("images"), tokens).text;
  CHECK(relative_error(text[3], io.at("text_features")[3]) <= kTolerance);  // open_clip's 'eos' pooling
  CHECK(relative_error(text[3], io.at("text_features_argmax")[3]) > 0.1);   // not its 'argmax' pooling
  CHECK(relative_error(text.narrow(0, 0, 3), io.at("text_features_argmax").narrow(0, 0, 3)) <= kTolerance);
}

TEST_CASE("loom info counts ViT-B-32 parameters like open_clip", "[clip][open_clip]") {
  std::ifstream file(reference_dir() / "cases.json");
  int64_t expected = nlohmann::json::parse(file)["vit_b32"]["parameters"].get<int64_t>();
  CHECK(expected == 151277313);
  auto r = run_command((loom::test::bin_dir() / "loom").string() + " info " +
                       (loom::test::source_dir() / "configs/clip/models/vit_b32.yaml").string());
  REQUIRE(r.code == 0);
  // visual 87,849,216 + text 63,428,096 + logit_scale (open_clip docs/model_profile.csv); mult-adds: 2x the total is
  // open_clip's 14.78 GFLOPs.
  CHECK_THAT(r.output, Catch::Contains("visual") && Catch::Contains("87,849,216") && Catch::Contains("151,277,313") &&
                           Catch::Contains("4,408,811,520") && Catch::Contains("2,979,770,368") &&
                           Catch::Contains("7,388,581,888"));
}

TEST_CASE("convert_open_clip.py output loads through its YAML and matches open_clip", "[clip][open_clip]") {
  fs::path dir = loom::test::scratch("clip_convert");
  std::string script = (loom::test::source_dir() / "scripts/convert_open_clip.py").string();
  auto r = run_command(loom::test::python() + " " + script + " ViT-S-32-alt --random-init --seed 3 --out " +
                       (dir / "s32.safetensors").string() + " --config-out " + (dir / "s32.yaml").string());
  INFO(r.output);
  REQUIRE(r.code == 0);
  REQUIRE(loom::test::run_python("open_clip_reference.py", "--expect ViT-S-32-alt " +
                                                               (dir / "s32.safetensors").string() + " " +
                                                               (dir / "s32.io.safetensors").string()) == 0);
  auto clip = model_from_yaml(dir / "s32.yaml");
  CHECK(clip->options().embed_dim == 256);
  CHECK(clip->options().text.layers == 10);
  load_strictly(*clip, dir / "s32.safetensors");
  check_outputs("ViT-S-32-alt", *clip, dir / "s32.io.safetensors");
}

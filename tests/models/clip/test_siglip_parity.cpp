// Parity of Loom's SigLIP with open_clip 3.3.0's CustomTextCLIP over timm 1.0.31 ViT towers: open_clip
// state dicts load strictly without renaming, and image/text embeddings and logits match to 1e-5, both
// absolute and relative (max |a - b| / max |b|), in float32. tests/python/siglip_reference.py writes the weights and
// expected outputs once per test run.
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "app/register_all.h"
#include "core/config/config_loader.h"
#include "core/error.h"
#include "core/io/weights.h"
#include "core/registry/registries.h"
#include "models/clip/siglip.h"
#include "models/model_metadata.h"
#include "support/test_env.h"

namespace {

namespace fs = std::filesystem;
using loom::SigLip;
using loom::SigLipModelOptions;

constexpr double kTolerance = 1e-5;

const fs::path& reference_dir() {
  static const fs::path dir = [] {
    fs::path out = loom::test::scratch("siglip_open_clip_reference");
    REQUIRE(loom::test::run_python("siglip_reference.py", out.string()) == 0);
    return out;
  }();
  return dir;
}

const nlohmann::json& cases() {
  static const nlohmann::json json = [] {
    std::ifstream file(reference_dir() / "cases.json");
    return nlohmann::json::parse(file);
  }();
  return json;
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

int64_t parameter_count(const torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

// Loads NAME's weights strictly, checks the parameter count and compares the outputs with open_clip's.
void check_case(const std::string& name, SigLip& model) {
  CHECK(parameter_count(model) == cases().at(name).at("parameters").get<int64_t>());
  loom::weights::LoadReport report =
      loom::weights::load_file(model, (reference_dir() / (name + ".weights.safetensors")).string());
  INFO(report.summary());
  REQUIRE(report.ok());
  auto io = read_tensors(reference_dir() / (name + ".io.safetensors"));
  torch::NoGradGuard no_grad;
  model.eval();
  const at::Tensor &images = io.at("images"), &tokens = io.at("tokens");
  const at::Tensor image_features = model.encode_image(images, false), text_features = model.encode_text(tokens, false);
  namespace F = torch::nn::functional;
  const auto unit = F::NormalizeFuncOptions().dim(-1);
  at::Tensor logits =
      model.logit_scale_value() * F::normalize(image_features, unit).matmul(F::normalize(text_features, unit).t());
  if (model.logit_bias_value().defined()) logits = logits + model.logit_bias_value();
  const double image = relative_error(image_features, io.at("image_features"));
  const double text = relative_error(text_features, io.at("text_features"));
  const double logit = relative_error(logits, io.at("logits"));
  const double image_abs = (image_features - io.at("image_features")).abs().max().item<double>();
  const double text_abs = (text_features - io.at("text_features")).abs().max().item<double>();
  const double logit_abs = (logits - io.at("logits")).abs().max().item<double>();
  std::printf(
      "open_clip SigLIP parity %-16s relative: image %.3g  text %.3g  logits %.3g   max |diff|: image %.3g  "
      "text %.3g  logits %.3g\n",
      name.c_str(), image, text, logit, image_abs, text_abs, logit_abs);
  CHECK(std::max({image_abs, text_abs, logit_abs}) <= kTolerance);
  CHECK(image <= kTolerance);
  CHECK(text <= kTolerance);
  CHECK(logit <= kTolerance);
}

std::shared_ptr<SigLip> model_from_yaml(const fs::path& yaml, const std::vector<std::string>& overrides = {}) {
  loom::register_all();
  loom::ConfigNode config = loom::load_config(yaml.string(), overrides);
  const loom::ConfigNode* section = config.find("model");
  REQUIRE(section);
  auto model = std::dynamic_pointer_cast<SigLip>(loom::model_registry().get("siglip")(*section, "model"));
  REQUIRE(model);
  return model;
}

// siglip_reference.py's smaller cases, option for option.
SigLipModelOptions so400m_options() {
  SigLipModelOptions o;
  o.embed_dim = 1152;
  o.vision = {.image_size = 224, .patch_size = 14, .width = 1152, .layers = 1, .heads = 16, .mlp_ratio = 3.7362};
  o.text.context_length = 16;
  o.text.vocab_size = 1000;
  o.text.width = 1152;
  o.text.heads = 16;
  o.text.layers = 1;
  o.text.mlp_ratio = 3.7362;
  return o;
}

SigLipModelOptions b16_384_small_options() {
  SigLipModelOptions o;
  o.embed_dim = 64;
  o.vision = {.image_size = 384, .patch_size = 16, .width = 64, .layers = 2, .heads = 2, .act = "gelu_tanh"};
  o.text.context_length = 24;
  o.text.vocab_size = 256;
  o.text.width = 64;
  o.text.heads = 2;
  o.text.layers = 2;
  o.text.act = "gelu_tanh";
  return o;
}

SigLipModelOptions token_ls_linear_options() {
  SigLipModelOptions o;
  o.embed_dim = 40;
  o.init_logit_bias.reset();
  o.vision = {.image_size = 64,
              .patch_size = 8,
              .width = 96,
              .layers = 2,
              .heads = 3,
              .mlp_ratio = 3.0,
              .class_token = true,
              .pool = "token",
              .ls_init_value = 0.1,
              .proj = "linear",
              .proj_bias = true};
  o.text = {.context_length = 12, .vocab_size = 300, .width = 48, .heads = 3, .layers = 2, .ln_eps = 1e-6};
  o.text.pool = "argmax";
  o.text.ls_init_value = 0.1;
  return o;
}

SigLipModelOptions avg_no_proj_options() {
  SigLipModelOptions o;
  o.embed_dim = 32;
  o.vision = {.image_size = 32, .patch_size = 8, .width = 32, .layers = 1, .heads = 2, .pool = "avg"};
  o.text = {.context_length = 8, .vocab_size = 100, .width = 32, .heads = 2, .layers = 1};
  o.text.causal = false;
  o.text.pool = "first";
  o.text.proj_type = "none";
  return o;
}

}  // namespace

TEST_CASE("open_clip ViT-B-16-SigLIP loads strictly from configs/clip/siglip_b16.yaml and matches",
          "[siglip][open_clip]") {
  auto model = model_from_yaml(loom::test::source_dir() / "configs/clip/siglip_b16.yaml");
  CHECK(cases().at("b16").at("parameters").get<int64_t>() == 203155970);  // open_clip's 203.16 M
  check_case("b16", *model);
}

TEST_CASE("SO400M shapes (width 1152, MLP 4304, patch 14) at depth 1 match open_clip", "[siglip][open_clip]") {
  SigLip model(so400m_options());
  CHECK(model.visual->trunk->attn_pool->mlp->fc1->weight.size(0) == 4304);
  check_case("so400m", model);
}

TEST_CASE("384-pixel images with tanh GELU in both towers match open_clip", "[siglip][open_clip]") {
  SigLip model(b16_384_small_options());
  check_case("b16_384_small", model);
}

TEST_CASE("class token, token pooling, layer scale, linear head and a causal argmax text tower match open_clip",
          "[siglip][open_clip]") {
  SigLip model(token_ls_linear_options());
  CHECK_FALSE(model.logit_bias_value().defined());
  check_case("token_ls_linear", model);
}

TEST_CASE("average pooling and a text tower without projection match open_clip", "[siglip][open_clip]") {
  SigLip model(avg_no_proj_options());
  check_case("avg_no_proj", model);
}

TEST_CASE("siglip: a tower whose output is not embed_dim is refused", "[siglip]") {
  SigLipModelOptions o = avg_no_proj_options();
  o.embed_dim = 48;  // the text tower has no projection: its output is its width, 32
  CHECK_THROWS_AS(SigLip(o), loom::UserError);
  o = avg_no_proj_options();
  o.vision.pool = "token";  // no class token to pool
  CHECK_THROWS_AS(SigLip(o), loom::UserError);
  o = avg_no_proj_options();
  o.vision.proj = "linear";  // open_clip lays this one out differently
  CHECK_THROWS_AS(SigLip(o), loom::UserError);
}

TEST_CASE("siglip: images of another size than the positional embedding's are refused", "[siglip]") {
  SigLip model(avg_no_proj_options());
  torch::NoGradGuard no_grad;
  CHECK_THROWS_WITH(model.encode_image(torch::zeros({1, 3, 48, 48}), false), Catch::Contains("6x6 patch grid"));
}

TEST_CASE("loom info counts ViT-B-16-SigLIP like open_clip", "[siglip][open_clip]") {
  const int64_t expected = cases().at("b16").at("parameters").get<int64_t>();
  auto r = loom::test::run_loom("info " + (loom::test::source_dir() / "configs/clip/siglip_b16.yaml").string());
  INFO(r.output);
  REQUIRE(r.code == 0);
  // open_clip docs/model_profile.csv: 203.16 M parameters (image 92.88 M, text 110.27 M), 46.44 GFLOPs
  // (image 35.42, text 11.02) = twice these mult-adds.
  CHECK(expected == 203155970);
  CHECK_THAT(r.output, Catch::Contains("visual") && Catch::Contains("92,884,224") && Catch::Contains("text") &&
                           Catch::Contains("110,271,744") && Catch::Contains("203,155,970") &&
                           Catch::Contains("17,708,292,096") && Catch::Contains("5,511,905,280") &&
                           Catch::Contains("23,220,197,376"));
}

TEST_CASE("siglip: the model section a weight file records reads back completely", "[siglip]") {
  loom::register_all();
  const loom::ConfigNode config =
      loom::load_config((loom::test::source_dir() / "configs/clip/siglip_b16.yaml").string());
  const auto section = loom::model_section_from_metadata(loom::model_metadata(*config.find("model")), "test");
  REQUIRE(section);
  const auto options = loom::read_config<SigLipModelOptions>(*section, "model");
  CHECK(options.vision.pool == "map");
  CHECK_FALSE(options.vision.ls_init_value);
  CHECK(options.text.tokenizer.name == "sentencepiece");
  CHECK(options.text.tokenizer.clean == "canonicalize");
  CHECK(options.init_logit_bias == -10.0);
  CHECK(options.preprocess.resize_mode == "squash");
  // A different tokenizer file is the user's to give; a different architecture is not.
  loom::ConfigNode other = *config.find("model");
  other.set("embed_dim", loom::parse_yaml("512", "test"));
  CHECK(loom::architecture_fingerprint(loom::resolved_model_section(other, "model")) !=
        loom::architecture_fingerprint(*section));
}

// `loom export` end to end on weight files: a stylizer (a fewshot config naming a random student and
// encoder), a student generator, a StyleGAN2 generator from z and the two towers of CLIP and of SigLIP,
// all run by onnxruntime as Loom computes them; format=torch read back by Python; what it cannot export
// (a model that is not image-text for the CLIP towers, random noise, another format, a teacher as the
// fewshot generator) is exit 2 naming it.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <fstream>
#include <map>

#include "app/fewshot_stylizer.h"
#include "core/config/config_loader.h"
#include "models/blazestylegan/blazestylegan.h"
#include "models/clip/pretrained_image_text_model.h"
#include "models/encoder/mobilenet_v2_encoder.h"
#include "models/model_metadata.h"
#include "models/pretrained_image_generator.h"
#include "support/onnx_runs.h"
#include "train/components.h"

namespace {

using loom::cat;
using loom::test::run_loom;

const char* kStudent =
    "{name: blazestylegan, resolution: 32, z_dim: 16, w_dim: 16, mapping_layers: 2, channels: [16, 16, 8]}";
const char* kEncoder =
    "{name: mobilenet_v2_encoder, resolution: 32, num_ws: 6, w_dim: 16, width_mult: 0.25, head_channels: 8}";
const char* kTeacher =
    "{name: stylegan2, resolution: 32, z_dim: 16, w_dim: 16, mapping_layers: 2, channel_base: 256, channel_max: 16}";
const char* kClip =
    "{name: clip, embed_dim: 24, vision: {image_size: 32, patch_size: 8, width: 32, layers: 2, heads: 2}, "
    "text: {context_length: 16, vocab_size: 100, width: 32, heads: 2, layers: 2, eot_token_id: 60}}";
const char* kSigLip =
    "{name: siglip, embed_dim: 32, vision: {image_size: 32, patch_size: 8, width: 32, layers: 1, heads: 2}, "
    "text: {context_length: 16, vocab_size: 100, width: 32, heads: 2, layers: 1}}";

// A random model of `section` as a weight file recording its section, as `loom export-weights` writes.
std::string weight_file(const std::filesystem::path& dir, const std::string& name, const char* section_yaml) {
  const loom::ConfigNode section = loom::parse_yaml(section_yaml, name + ".yaml");
  auto model = loom::make_model(section, "model");
  loom::test::randomize_for_export(*model);
  const std::string path = (dir / (name + ".safetensors")).string();
  loom::weights::write(path, loom::weights::state_dict(*model), loom::model_metadata(section));
  return path;
}

std::string fewshot_config(const std::filesystem::path& dir, const std::string& name, const std::string& generator,
                           const std::string& encoder) {
  const auto path = dir / name;
  std::ofstream(path) << "recipe: {name: fewshot, generator: " << generator << ", encoder: " << encoder << "}\n";
  return path.string();
}

}  // namespace

TEST_CASE("loom export writes a stylizer and a generator that onnxruntime runs as Loom does", "[export][cli]") {
  torch::manual_seed(6);
  const auto dir = loom::test::scratch("onnx_cli");
  const auto models = dir / "onnx";
  std::filesystem::create_directories(models);
  const std::string student = weight_file(dir, "student", kStudent), encoder = weight_file(dir, "encoder", kEncoder);
  const std::string config = fewshot_config(dir, "fewshot.yaml", student, encoder);

  const auto stylizer = run_loom(cat("export ", config, " ckpt=", student,
                                     " what=stylizer format=onnx out=", (models / "stylizer.onnx").string()));
  INFO(stylizer.output);
  REQUIRE(stylizer.code == 0);
  CHECK(stylizer.output.find("wrote ") != std::string::npos);
  const auto generator = run_loom(cat("export ", config, " ckpt=", student,
                                      " what=generator batch=1 noise=none out=", (models / "generator.onnx").string()));
  INFO(generator.output);
  REQUIRE(generator.code == 0);

  const std::string teacher = weight_file(dir, "teacher", kTeacher);
  const auto from_z = run_loom(cat("export ", config, " ckpt=", teacher,
                                   " what=generator input=z psi=0.5 out=", (models / "teacher.onnx").string()));
  INFO(from_z.output);
  REQUIRE(from_z.code == 0);

  torch::NoGradGuard no_grad;
  const loom::cli::FewShotStylizer s = loom::cli::load_fewshot_stylizer(loom::load_config(config, {}), config, student);
  loom::BlazeSynthesisImpl& synthesis = *s.generator.student->synthesis;
  const at::Tensor image = torch::rand({2, 3, 32, 32});
  const at::Tensor ws = torch::randn({1, synthesis.num_ws(), 16});
  loom::test::write_onnx_inputs(models, "stylizer", 0, {{"image", image}});
  loom::test::write_onnx_inputs(models, "generator", 0, {{"ws", ws}});
  const at::Tensor codes = loom::invert(*s.encoder.encoder, image * 2 - 1, s.generator.w_avg());
  const at::Tensor stylized =
      ((synthesis.forward(codes, loom::NoiseMode::constant, {}, false).image + 1) / 2).clamp(0, 1);
  const at::Tensor generated = synthesis.forward(ws, loom::NoiseMode::none, {}, false).image;

  const loom::PretrainedImageGenerator t = loom::load_pretrained_image_generator(teacher, nullptr, "model");
  const at::Tensor z = torch::randn({2, 16});
  loom::test::write_onnx_inputs(models, "teacher", 0, {{"z", z}});
  const at::Tensor teacher_image =
      t.seeds.synthesize(t.seeds.mapping->forward(z, {}, 0.5, -1), loom::NoiseMode::constant);

  loom::test::run_onnx_models(models);
  CHECK(loom::test::relative_error(loom::test::onnx_output(models, "teacher", 0, "image"), teacher_image) < 1e-4);
  CHECK((loom::test::onnx_output(models, "stylizer", 0, "stylized") - stylized).abs().max().item<double>() < 1e-4);
  CHECK(loom::test::relative_error(loom::test::onnx_output(models, "generator", 0, "image"), generated) < 1e-4);
  const auto meta = loom::test::onnx_meta(models, "generator");
  CHECK(meta["inputs"]["ws"] == nlohmann::json::array({1, synthesis.num_ws(), 16}));
  CHECK(meta["metadata"]["loom.noise"] == "none");
  CHECK(loom::test::onnx_meta(models, "stylizer")["metadata"]["loom.checkpoint"] == student);
}

TEST_CASE("loom export format=torch writes the stylizer's modules as a state dict Python loads, with its config",
          "[export][cli][torch]") {
  torch::manual_seed(11);
  const auto dir = loom::test::scratch("torch_export_cli");
  const std::string student = weight_file(dir, "student", kStudent), encoder = weight_file(dir, "encoder", kEncoder);
  const std::string config = fewshot_config(dir, "fewshot.yaml", student, encoder);
  const auto out = dir / "stylizer.pt";
  const auto r = run_loom(cat("export ", config, " ckpt=", student, " what=stylizer format=torch out=", out.string()));
  INFO(r.output);
  REQUIRE(r.code == 0);
  const auto read_back = dir / "python.safetensors";
  REQUIRE(loom::test::run_python("torch_export_check.py", cat(out.string(), " ", read_back.string())) == 0);

  torch::NoGradGuard no_grad;
  const loom::cli::FewShotStylizer s = loom::cli::load_fewshot_stylizer(loom::load_config(config, {}), config, student);
  std::map<std::string, at::Tensor> expected{{"w_avg", s.generator.w_avg()}};
  for (const auto& [key, t] : loom::weights::state_dict(*s.encoder.encoder)) expected["encoder." + key] = t;
  for (const auto& [key, t] : loom::weights::state_dict(*s.generator.student)) expected["student." + key] = t;
  const auto python = loom::weights::read(read_back.string());
  CHECK(python.size() == expected.size());
  for (const auto& [key, t] : python) {
    INFO(key);
    REQUIRE(expected.count(key));
    CHECK(torch::equal(t, expected.at(key)));
  }
  const auto json = nlohmann::json::parse(loom::test::read_text(dir / "stylizer.json"));
  CHECK(json["what"] == "stylizer");
  CHECK(json["inputs"]["image"]["shape"] == nlohmann::json::array({"batch", 3, 32, 32}));
  CHECK(json["modules"]["student"]["model"]["channels"] == nlohmann::json::array({16, 16, 8}));
  CHECK(json["modules"]["encoder"]["model"]["width_mult"] == 0.25);
  CHECK(json["config"]["recipe"]["name"] == "fewshot");
}

namespace {

// Both towers of a random image-text model of `section` exported by `loom export` (the image one
// normalised, the text one not) and run by onnxruntime as `loom embed` computes them.
void check_tower_exports(const std::string& name, const char* section) {
  const auto dir = loom::test::scratch("onnx_cli_" + name);
  const auto models = dir / "onnx";
  std::filesystem::create_directories(models);
  const std::string weights = weight_file(dir, name, section), config = (dir / (name + ".yaml")).string();
  std::ofstream(config) << "model: " << section << "\n";
  const auto image =
      run_loom(cat("export ", config, " ckpt=", weights, " what=clip_image out=", (models / "image.onnx").string()));
  INFO(image.output);
  REQUIRE(image.code == 0);
  const auto text = run_loom(cat("export ", config, " ckpt=", weights,
                                 " what=clip_text normalize=false out=", (models / "text.onnx").string()));
  INFO(text.output);
  REQUIRE(text.code == 0);

  torch::NoGradGuard no_grad;
  const loom::PretrainedImageTextModel m = loom::load_pretrained_image_text_model(weights, nullptr, "model");
  const at::Tensor images = torch::rand({2, 3, 32, 32});
  at::Tensor tokens = torch::randint(0, 59, {3, 16}, torch::kLong);
  tokens[0][4] = 60;
  tokens[1][15] = 60;
  loom::test::write_onnx_inputs(models, "image", 0, {{"image", images}});
  loom::test::write_onnx_inputs(models, "text", 0, {{"tokens", tokens}});
  const at::Tensor image_embeddings = loom::test::encode_unit_images(*m.model, images, true);
  const at::Tensor text_embeddings = m.model->encode_text(tokens, false);

  loom::test::run_onnx_models(models);
  CHECK((loom::test::onnx_output(models, "image", 0, "embedding") - image_embeddings).abs().max().item<double>() <
        1e-4);
  CHECK(loom::test::relative_error(loom::test::onnx_output(models, "text", 0, "embedding"), text_embeddings) < 1e-4);
  const auto meta = loom::test::onnx_meta(models, "text");
  CHECK(meta["metadata"]["loom.what"] == "clip_text");
  CHECK(meta["metadata"]["loom.output"] == "embedding [batch, embed_dim], unnormalised");
  CHECK(loom::test::onnx_meta(models, "image")["metadata"]["loom.checkpoint"] == weights);
}

}  // namespace

TEST_CASE("loom export writes CLIP image and text towers that onnxruntime runs as loom embed computes",
          "[export][cli][clip]") {
  torch::manual_seed(9);
  check_tower_exports("clip", kClip);
}

TEST_CASE("loom export writes SigLIP's timm image tower and its text tower as loom embed computes them",
          "[export][cli][clip][siglip]") {
  torch::manual_seed(10);
  check_tower_exports("siglip", kSigLip);
}

TEST_CASE("loom export names the module or setting it cannot export, with exit 2", "[export][cli][bad input]") {
  torch::manual_seed(7);
  const auto dir = loom::test::scratch("onnx_cli_bad");
  const std::string student = weight_file(dir, "student", kStudent), encoder = weight_file(dir, "encoder", kEncoder);
  const std::string teacher = weight_file(dir, "teacher", kTeacher);
  const std::string config = fewshot_config(dir, "fewshot.yaml", student, encoder);
  const std::string out = (dir / "model.onnx").string();
  auto fails_with = [&](const std::string& arguments, const std::vector<std::string>& needles) {
    const auto r = run_loom(cat("export ", arguments, " out=", out));
    INFO(arguments << "\n" << r.output);
    CHECK(r.code == 2);
    for (const auto& needle : needles) CHECK(r.output.find(needle) != std::string::npos);
  };
  fails_with(cat(config, " ckpt=", student, " what=clip_image"), {"'blazestylegan' is not an image-text model"});
  fails_with(cat(config, " ckpt=", student, " what=clip_image normalize=yes"), {"normalize=yes"});
  fails_with(cat(config, " ckpt=", teacher, " what=stylizer"), {"'stylegan2' model", "not a fine-tuned BlazeStyleGAN"});
  fails_with(cat(config, " ckpt=", student, " what=stylizer format=tflite"), {"format=tflite"});
  fails_with(cat(config, " ckpt=", student, " what=stylizer format=torch"), {"must end in .pt"});
  fails_with(cat(config, " ckpt=", student, " what=stylizer fp16=yes"), {"fp16=yes"});
  fails_with(cat(config, " ckpt=", student, " what=stylizer noise=random"), {"noise=random"});
  fails_with(cat(config, " ckpt=", student, " what=painting"), {"what=painting"});
  fails_with(cat(config, " what=stylizer"), {"ckpt="});
  fails_with(cat(fewshot_config(dir, "teacher.yaml", teacher, encoder), " ckpt=", student, " what=stylizer"),
             {"recipe.generator", "not a BlazeStyleGAN student"});
  CHECK(!std::filesystem::exists(out));
}

// StyleGAN2 weight sources and the architecture they record (models/stylegan2/generator_weights.h,
// pretrained_generator.h, nvlabs_metadata.h): Loom weight files and checkpoints round-trip their model
// section, scripts/convert_stylegan2.py's files (new and old metadata) map to Loom's keys, and a
// generator loads with the section completed from the file or refuses a contradicting config.
#include <catch2/catch.hpp>

#include <torch/torch.h>

#include "core/config/config_error.h"
#include "core/config/config_loader.h"
#include "core/io/checkpoint.h"
#include "models/model_metadata.h"
#include "models/stylegan2/generator_weights.h"
#include "models/stylegan2/latents.h"
#include "models/stylegan2/nvlabs_metadata.h"
#include "models/stylegan2/pretrained_generator.h"
#include "models/stylegan2/stylegan2.h"
#include "support/config_nodes.h"
#include "support/test_env.h"

namespace {

namespace fs = std::filesystem;
using loom::ConfigNode;

// A generator whose conv_clamp changes its images: what a wrong value would silently do.
const char* const kSection =
    "name: stylegan2\nresolution: 16\nz_dim: 16\nw_dim: 16\nmapping_layers: 2\nchannel_base: 128\n"
    "channel_max: 16\nconv_clamp: 0.05\n";

ConfigNode yaml(const std::string& text, const std::string& file = "config.yaml") {
  return loom::test::yaml_section(text, file);
}
using loom::test::value_of;

loom::weights::NamedTensors prefixed(const std::string& prefix, const torch::nn::Module& module) {
  loom::weights::NamedTensors out;
  for (const auto& [k, v] : loom::weights::state_dict(module)) out.emplace_back(prefix + k, v.detach().clone());
  return out;
}

at::Tensor images(loom::GeneratorImpl& g) {
  torch::NoGradGuard no_grad;
  g.eval();
  return loom::images_from_seeds(g, {0, 1}, {}, {.noise_mode = loom::NoiseMode::constant}, torch::kCPU);
}

}  // namespace

TEST_CASE("stylegan2 generator files: a Loom weight file records its section, a teacher loads from it",
          "[stylegan2][metadata]") {
  const fs::path dir = loom::test::scratch("stylegan2_generator_files");
  torch::manual_seed(5);
  loom::StyleGan2 model(loom::read_config<loom::StyleGan2Options>(yaml(kSection), "model"));
  loom::weights::NamedTensors tensors = prefixed("G_ema.", *model.G);
  for (auto& entry : prefixed("D.", *model.D)) tensors.push_back(entry);
  const fs::path file = dir / "gd.safetensors";
  loom::weights::write(file.string(), tensors, loom::model_metadata(yaml(kSection)));

  const loom::GeneratorFile read = loom::read_generator(file);
  REQUIRE(read.model);
  CHECK(value_of(*read.model, "conv_clamp") == "0.05");
  CHECK(value_of(*read.model, "mapping_layers") == "2");
  CHECK(loom::generator_weights(read).size() == loom::weights::state_dict(*model.G).size());
  CHECK(loom::discriminator_weights(read).size() == loom::weights::state_dict(*model.D).size());

  // No config section: everything from the file, and the same images as the generator written.
  loom::PretrainedGenerator teacher = loom::load_pretrained_generator(file, nullptr, "teacher.model");
  CHECK(teacher.generator->options().conv_clamp == 0.05);
  CHECK(teacher.tensors_loaded == loom::weights::state_dict(*model.G).size());
  CHECK(teacher.discriminator.size() == loom::weights::state_dict(*model.D).size());
  for (const auto& p : teacher.generator->parameters()) CHECK(!p.requires_grad());
  const at::Tensor want = images(*model.G);
  CHECK(torch::equal(images(*teacher.generator), want));

  // A section that leaves conv_clamp out gets the file's; one that contradicts it is refused.
  const ConfigNode partial = yaml("name: stylegan2\nresolution: 16\n");
  CHECK(loom::load_pretrained_generator(file, &partial, "teacher.model").generator->options().conv_clamp == 0.05);
  const ConfigNode wrong = yaml("name: stylegan2\nconv_clamp: 256\n", "distill.yaml");
  CHECK_THROWS_AS(loom::load_pretrained_generator(file, &wrong, "teacher.model"), loom::ConfigError);
  CHECK_THROWS_WITH(loom::load_pretrained_generator(file, &wrong, "teacher.model"),
                    Catch::Contains("distill.yaml:2: teacher.model.conv_clamp: the config gives 256, but " +
                                    file.string() + " was made with 0.05"));

  // Weights without a record: the config's section, and without one an error naming the key. The
  // default clamp (none) gives other images: what the record prevents.
  loom::weights::write((dir / "bare.safetensors").string(), prefixed("", *model.G));
  CHECK_THROWS_WITH(loom::load_pretrained_generator(dir / "bare.safetensors", nullptr, "teacher.model"),
                    Catch::Contains("teacher.model: not in the config") && Catch::Contains("bare.safetensors"));
  const ConfigNode unclamped = yaml(
      "name: stylegan2\nresolution: 16\nz_dim: 16\nw_dim: 16\nmapping_layers: 2\n"
      "channel_base: 128\nchannel_max: 16\n");
  loom::PretrainedGenerator plain = loom::load_pretrained_generator(dir / "bare.safetensors", &unclamped, "model");
  CHECK(plain.discriminator.empty());
  CHECK(!torch::equal(images(*plain.generator), want));
}

TEST_CASE("stylegan2 generator files: a Loom checkpoint gives its run's section, EMA G and D",
          "[stylegan2][metadata]") {
  const fs::path dir = loom::test::scratch("stylegan2_generator_checkpoint");
  loom::StyleGan2 model(loom::read_config<loom::StyleGan2Options>(yaml(kSection), "model"));
  loom::CheckpointContents contents;
  contents.tensors = prefixed("module.G.", *model.G);
  for (auto& entry : prefixed("module.D.", *model.D)) contents.tensors.push_back(entry);
  for (auto& entry : prefixed("ema.G.", *model.G)) contents.tensors.emplace_back(entry.first, entry.second + 1);
  contents.state_json = "{}";
  contents.blobs["config.yaml"] = std::string(
      "recipe: {name: stylegan2}\nmodel: {name: stylegan2, resolution: 16, z_dim: 16, w_dim: 16, mapping_layers: 2, "
      "channel_base: 128, channel_max: 16, conv_clamp: 0.05}\n");
  loom::CheckpointStore(dir / "run" / "checkpoints", {}).save(3, contents);

  const loom::GeneratorFile read = loom::read_generator(dir / "run");
  REQUIRE(read.model);
  CHECK(value_of(*read.model, "conv_clamp") == "0.05");
  CHECK(value_of(*read.model, "mapping_lr_multiplier") == "0.01");  // the defaults the run was built with
  const auto g = loom::generator_weights(read);
  const auto first = loom::weights::state_dict(*model.G).front();
  CHECK(g.front().first == first.first);
  CHECK(torch::equal(g.front().second, first.second + 1));  // the EMA copy
  CHECK(loom::discriminator_weights(read).size() == loom::weights::state_dict(*model.D).size());
}

TEST_CASE("stylegan2 generator files: converted files record Loom keys, older ones map to the same",
          "[stylegan2][metadata][python]") {
  const fs::path dir = loom::test::scratch("stylegan2_converted_metadata");
  REQUIRE(loom::test::run_python("stylegan2_metadata.py", "write " + dir.string()) == 0);

  const loom::GeneratorFile recorded = loom::read_generator(dir / "nvlabs.safetensors");
  const loom::GeneratorFile legacy = loom::read_generator(dir / "nvlabs_legacy.safetensors");
  REQUIRE(recorded.model);
  REQUIRE(legacy.model);
  for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{{"resolution", "32"},
                                                                                   {"z_dim", "64"},
                                                                                   {"mapping_layers", "3"},
                                                                                   {"mapping_lr_multiplier", "0.05"},
                                                                                   {"channel_base", "512"},
                                                                                   {"channel_max", "64"},
                                                                                   {"num_fp16_res", "2"},
                                                                                   {"mbstd_group_size", "2"},
                                                                                   {"mbstd_channels", "1"}}) {
    INFO(key);
    CHECK(value_of(*recorded.model, key) == value);
    CHECK(value_of(*legacy.model, key) == value);
  }
  CHECK(std::stod(value_of(*recorded.model, "conv_clamp")) == 256);
  CHECK(std::stod(value_of(*legacy.model, "conv_clamp")) == 256);
  // The two records agree key for key, so either completes a config the same way.
  CHECK(loom::reconcile_model_section(*legacy.model, "model", *recorded.model, "f").entries().size() ==
        legacy.model->entries().size());
  CHECK(loom::reconcile_model_section(*recorded.model, "model", *legacy.model, "f").entries().size() ==
        recorded.model->entries().size());

  // The generator builds from the record alone.
  loom::PretrainedGenerator g = loom::load_pretrained_generator(dir / "nvlabs.safetensors", nullptr, "model");
  CHECK(g.generator->options().mapping_lr_multiplier == 0.05);
  CHECK(g.generator->options().num_fp16_res == 2);
  CHECK(g.discriminator.empty());  // a G_ema-only file

  const loom::GeneratorFile ros = loom::read_generator(dir / "rosinality_all.safetensors");
  REQUIRE(ros.model);
  CHECK(value_of(*ros.model, "conv_clamp") == "null");
  CHECK(value_of(*ros.model, "num_fp16_res") == "0");
  CHECK(!loom::discriminator_weights(ros).empty());

  // Old rosinality metadata: no clamp, no float16 blocks; a generator NVlabs built otherwise is refused.
  const auto old = loom::model_section_from_nvlabs_metadata(
      {{"source_layout", "rosinality"}, {"resolution", "32"}, {"map_layers", "8"}}, "old.safetensors");
  REQUIRE(old);
  CHECK(value_of(*old, "conv_clamp") == "null");
  CHECK(value_of(*old, "mapping_layers") == "8");
  CHECK_THROWS_WITH(loom::model_section_from_nvlabs_metadata({{"source_layout", "nvlabs"}, {"architecture", "resnet"}},
                                                             "r.safetensors"),
                    Catch::Contains("r.safetensors") && Catch::Contains("'resnet'"));
}

// The model section a weight file records (models/model_metadata.h): written complete, read back from
// safetensors metadata and Loom checkpoints, and reconciled with a config (unset keys filled in,
// contradictions refused naming the key, the file and both values).
#include <catch2/catch.hpp>

#include <torch/torch.h>

#include "core/config/config_error.h"
#include "core/config/config_loader.h"
#include "core/io/checkpoint.h"
#include "models/model_metadata.h"
#include "support/config_nodes.h"
#include "support/test_env.h"

namespace {

using loom::ConfigNode;

ConfigNode yaml(const std::string& text, const std::string& file = "config.yaml") {
  return loom::test::yaml_section(text, file);
}
using loom::test::value_of;

// The ConfigError message of reconciling `config` with `file`.
std::string contradiction(const ConfigNode& config, const ConfigNode& file, const std::string& key = "model") {
  try {
    loom::reconcile_model_section(config, key, file, "/w/g.safetensors");
  } catch (const loom::ConfigError& e) {
    return e.what();
  }
  FAIL("no ConfigError");
  return "";
}

const char* const kFile = "name: stylegan2\nresolution: 16\nchannel_base: 128\nchannel_max: 16\nconv_clamp: 256\n";

}  // namespace

TEST_CASE("model metadata: a stylegan2 section is recorded whole, an unset conv_clamp as null", "[metadata]") {
  const loom::weights::Metadata metadata = loom::model_metadata(yaml("name: stylegan2\nresolution: 16\n"));
  REQUIRE(metadata.count(loom::kModelMetadataKey));
  const auto section = loom::model_section_from_metadata(metadata, "g.safetensors");
  REQUIRE(section);
  CHECK(value_of(*section, "resolution") == "16");
  CHECK(value_of(*section, "conv_clamp") == "null");  // recorded: "none", not "unknown"
  CHECK(value_of(*section, "mapping_lr_multiplier") == "0.01");
  CHECK(value_of(*section, "num_fp16_res") == "0");
  CHECK(value_of(*section, "mbstd_group_size") == "4");
  CHECK(section->find("freeze_d_layers"));
  CHECK(section->find("name")->scalar() == "stylegan2");

  // A section that cannot build is refused when it is recorded.
  CHECK_THROWS_WITH(loom::model_metadata(yaml("name: stylegan2\nresolution: 12\n")),
                    Catch::Contains("model.resolution") && Catch::Contains("power of two"));
  // A family Loom has no schema for is recorded as given.
  CHECK(value_of(loom::resolved_model_section(yaml("name: student\nwidths: [8, 4]\n"), "model"), "name") == "student");
  // No record; a malformed one names the file.
  CHECK(!loom::model_section_from_metadata({{"format", "pt"}}, "g.safetensors"));
  CHECK_THROWS_WITH(loom::model_section_from_metadata({{loom::kModelMetadataKey, "[1, 2]"}}, "g.safetensors"),
                    Catch::Contains("g.safetensors") && Catch::Contains("loom.model"));
}

TEST_CASE("model metadata: reconcile fills unset keys and refuses a contradiction naming key and file", "[metadata]") {
  const ConfigNode file = loom::resolved_model_section(yaml(kFile, "run/config.yaml"), "model");

  const ConfigNode filled =
      loom::reconcile_model_section(yaml("name: stylegan2\nresolution: 16\n"), "model", file, "/w/g.safetensors");
  CHECK(value_of(filled, "conv_clamp") == "256.0");
  CHECK_THAT(filled.find("conv_clamp")->origin().str(), Catch::Equals("run/config.yaml:5"));
  CHECK_THAT(filled.find("z_dim")->origin().str(), Catch::Equals("run/config.yaml (defaults)"));
  CHECK(value_of(filled, "channel_base") == "128");
  // No config section at all: the file's.
  CHECK(value_of(loom::reconcile_model_section(ConfigNode{}, "model", file, "/w/g.safetensors"), "channel_max") ==
        "16");
  // Equal numbers spelled differently agree.
  CHECK(value_of(loom::reconcile_model_section(yaml("conv_clamp: 256\n"), "model", file, "f"), "conv_clamp") == "256");

  std::string message = contradiction(yaml("name: stylegan2\n\nconv_clamp: 128\n", "gen.yaml"), file);
  CHECK_THAT(message, Catch::StartsWith("gen.yaml:3: model.conv_clamp: the config gives 128, but /w/g.safetensors "
                                        "was made with 256.0"));
  message = contradiction(yaml("conv_clamp: null\n"), file, "teacher.model");
  CHECK_THAT(message, Catch::Contains("teacher.model.conv_clamp: the config gives null, but"));
  // An unset optional in the file is a value too: a config's clamp contradicts it.
  const ConfigNode unclamped = loom::resolved_model_section(yaml("name: stylegan2\nresolution: 16\n"), "model");
  CHECK_THAT(contradiction(yaml("conv_clamp: 256\n"), unclamped), Catch::Contains("made with null"));
  CHECK_THAT(contradiction(yaml("name: clip\n"), file), Catch::Contains("model.name"));
  CHECK_THAT(contradiction(yaml("mapping_lr_multiplier: 1\n"), file), Catch::Contains("model.mapping_lr_multiplier"));

  // Training-only and numerics keys may differ; the config's value stays.
  const ConfigNode own = loom::reconcile_model_section(
      yaml("num_fp16_res: 4\nfreeze_d_layers: 3\nw_avg_beta: 0.9\nmbstd_group_size: 8\n"), "model", file, "f");
  CHECK(value_of(own, "num_fp16_res") == "4");
  CHECK(value_of(own, "freeze_d_layers") == "3");
  CHECK(value_of(own, "mbstd_group_size") == "8");

  // Any family: lists compare whole, keys only the config has stay, nested keys are named in full.
  const ConfigNode student = yaml("name: student\nwidths: [8, 4]\n");
  CHECK(value_of(loom::reconcile_model_section(yaml("note: x\n"), "student", student, "f"), "note") == "x");
  CHECK_THAT(contradiction(yaml("widths: [8, 2]\n"), student, "student"),
             Catch::Contains("student.widths: the config gives [8, 2], but /w/g.safetensors was made with [8, 4]"));
  const ConfigNode clip = loom::resolved_model_section(yaml("name: clip\n"), "model");
  CHECK_THAT(contradiction(yaml("name: clip\nvision: {width: 64}\n"), clip), Catch::Contains("model.vision.width"));
  CHECK(value_of(loom::reconcile_model_section(yaml("init_logit_scale: 1.5\n"), "model", clip, "f"),
                 "init_logit_scale") == "1.5");
}

TEST_CASE("model metadata: a Loom checkpoint's run config gives the model section", "[metadata]") {
  const auto dir = loom::test::scratch("model_metadata_checkpoint");
  loom::CheckpointContents contents;
  contents.tensors = {{"module.model.w", torch::ones({2})}};
  contents.state_json = "{}";
  contents.blobs["config.yaml"] = std::string("recipe: {name: classify}\nmodel:\n  name: convnet\n  widths: [4]\n");
  loom::CheckpointStore(dir / "run" / "checkpoints", {}).save(7, contents);

  const auto section = loom::read_model_section(dir / "run");
  REQUIRE(section);
  CHECK(value_of(*section, "num_classes") == "10");  // completed with the defaults the run was built with
  CHECK(section->find("widths")->items().size() == 1);
  CHECK_THAT(section->find("widths")->origin().str(), Catch::Contains("config.yaml:4"));

  // Files that record nothing.
  loom::weights::write((dir / "plain.safetensors").string(), contents.tensors);
  loom::weights::write((dir / "plain.pt").string(), contents.tensors);
  CHECK(!loom::read_model_section(dir / "plain.safetensors"));
  CHECK(!loom::read_model_section(dir / "plain.pt"));
  loom::weights::write((dir / "g.safetensors").string(), contents.tensors, loom::model_metadata(*section));
  CHECK(value_of(*loom::read_model_section(dir / "g.safetensors"), "num_classes") == "10");
}

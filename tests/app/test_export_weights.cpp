// `loom export-weights` writes a run's module with the run's model section in the metadata, and `loom
// generate` / `loom eval` take the architecture from a weight source: unset keys come from it, a
// contradicting override exits 2 naming the key and the file.
#include <catch2/catch.hpp>

#include <fstream>

#include <torch/torch.h>

#include "core/config/config_loader.h"
#include "core/io/checkpoint.h"
#include "core/io/safetensors.h"
#include "models/model_metadata.h"
#include "models/stylegan2/stylegan2.h"
#include "support/test_env.h"

namespace {

namespace fs = std::filesystem;
using loom::cat;
using loom::test::run_loom;

// conv_clamp 0.05 changes the images, so a generator built without it draws other pictures.
const char* const kModel =
    "{name: stylegan2, resolution: 16, z_dim: 16, w_dim: 16, mapping_layers: 2, channel_base: 128, channel_max: 16, "
    "conv_clamp: 0.05}";
const char* const kArchitecture =
    " model.resolution=16 model.z_dim=16 model.w_dim=16 model.mapping_layers=2 model.channel_base=128 "
    "model.channel_max=16";

void append(loom::weights::NamedTensors& out, const std::string& prefix, const torch::nn::Module& module) {
  for (const auto& [k, v] : loom::weights::state_dict(module)) out.emplace_back(prefix + k, v.detach().clone());
}

// A run folder whose one checkpoint holds G, D and the EMA G of kModel.
fs::path write_run(const fs::path& root) {
  loom::StyleGan2 model(loom::read_config<loom::StyleGan2Options>(loom::parse_yaml(kModel, "model"), "model"));
  loom::CheckpointContents contents;
  append(contents.tensors, "module.G.", *model.G);
  append(contents.tensors, "module.D.", *model.D);
  append(contents.tensors, "ema.G.", *model.G);
  contents.state_json = "{}";
  contents.blobs["config.yaml"] = cat("recipe: {name: stylegan2}\nmodel: ", kModel, "\n");
  const fs::path run = root / "runs" / "sg2" / "0";
  loom::CheckpointStore(run / "checkpoints", {}).save(4, contents);
  return run;
}

}  // namespace

TEST_CASE("loom export-weights writes a module with its model section, loom generate takes it from there",
          "[cli][metadata]") {
  const fs::path root = loom::test::scratch("cli_export_weights");
  const fs::path run = write_run(root);
  const std::string file = (root / "g.safetensors").string();

  auto r = run_loom(cat("export-weights ", run.string(), " out=", file));
  INFO(r.output);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.output, Catch::Contains("of ema.G from") && Catch::Contains("conv_clamp: 0.05"));
  const loom::weights::Safetensors written = loom::weights::read_safetensors(file);
  bool unprefixed = true;  // one module: its own names
  for (const auto& [name, tensor] : written.tensors)
    unprefixed &= name.starts_with("mapping.") || name.starts_with("synthesis.");
  CHECK(unprefixed);
  const auto section = loom::model_section_from_metadata(written.metadata, file);
  REQUIRE(section);
  CHECK(section->find("conv_clamp")->scalar() == "0.05");
  CHECK(section->find("num_fp16_res")->scalar() == "0");  // defaults recorded too

  r = run_loom(cat("export-weights ", run.string(), " module=ema.G,D out=", (root / "gd.safetensors").string()));
  REQUIRE(r.code == 0);
  int g_ema = 0, d = 0, other = 0;
  for (const auto& [name, tensor] : loom::weights::read_safetensors((root / "gd.safetensors").string()).tensors)
    ++(name.starts_with("G_ema.") ? g_ema : name.starts_with("D.") ? d : other);
  CHECK(g_ema > 0);
  CHECK(d > 0);
  CHECK(other == 0);
  r = run_loom(cat("export-weights ", run.string(), " module=H out=", file));
  CHECK(r.code == 2);
  CHECK_THAT(r.output, Catch::Contains("module=H") && Catch::Contains("D, G, ema.G"));
  r = run_loom(cat("export-weights ", run.string(), " out=", (root / "g.pt").string()));
  CHECK(r.code == 2);

  // A config without conv_clamp: the file's (and the run's) 0.05, the same images either way.
  const std::string config = (root / "generate.yaml").string();
  std::ofstream(config) << "model: {name: stylegan2}\n";
  const std::string a = (root / "a.png").string(), b = (root / "b.png").string(), c = (root / "c.png").string();
  r = run_loom(cat("generate ", config, " ckpt=", file, " seeds=0-3 out=", a));
  INFO(r.output);
  REQUIRE(r.code == 0);
  REQUIRE(run_loom(cat("generate ", config, " ckpt=", run.string(), " seeds=0-3 out=", b)).code == 0);
  CHECK(loom::test::read_text(a) == loom::test::read_text(b));
  // The same weights without the record, built with the default clamp (none): other images.
  loom::weights::write((root / "bare.safetensors").string(), written.tensors);
  r = run_loom(
      cat("generate ", config, kArchitecture, " ckpt=", (root / "bare.safetensors").string(), " seeds=0-3 out=", c));
  REQUIRE(r.code == 0);
  CHECK(loom::test::read_text(a) != loom::test::read_text(c));

  // A contradicting override: exit 2, naming the key, the file and both values.
  r = run_loom(cat("generate ", config, " ckpt=", file, " model.conv_clamp=256 out=", c));
  CHECK(r.code == 2);
  CHECK_THAT(r.output, Catch::Contains("model.conv_clamp: the config gives 256, but " + file + " was made with 0.05"));
  r = run_loom(cat("generate ", config, " ckpt=", run.string(), " model.mapping_layers=8 out=", c));
  CHECK(r.code == 2);
  CHECK_THAT(r.output, Catch::Contains("model.mapping_layers") && Catch::Contains(run.string()));

  // A grid far larger than an image Loom reads back is refused before anything is synthesised.
  r = run_loom(cat("generate ", config, " ckpt=", file, " mix_rows=0-999 mix_cols=0-999 out=", c));
  CHECK(r.code == 2);
  CHECK_THAT(r.output,
             Catch::Contains("a grid of 1002001 images of 16x16") && Catch::Contains("LOOM_LIMIT_IMAGE_PIXELS"));
}

TEST_CASE("loom eval refuses a config that contradicts the weights' model section", "[cli][metadata]") {
  const fs::path root = loom::test::scratch("cli_eval_metadata");
  const fs::path run = write_run(root);
  const std::string config = (loom::test::source_dir() / "configs/stylegan2/small_shapes.yaml").string();
  // small_shapes.yaml's own architecture (32 px, ...) contradicts the run's before anything is built.
  auto r = run_loom(cat("eval ", config, " ckpt=", run.string()));
  CHECK(r.code == 2);
  CHECK_THAT(r.output, Catch::Contains("small_shapes.yaml") && Catch::Contains("model.resolution") &&
                           Catch::Contains("the config gives 32"));
  r = run_loom(cat("eval ", config, kArchitecture, " model.conv_clamp=1 ckpt=", run.string()));
  CHECK(r.code == 2);
  CHECK_THAT(r.output, Catch::Contains("override 'model.conv_clamp=1': model.conv_clamp: the config gives 1"));
}

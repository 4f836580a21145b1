// `loom embed` and `loom eval` on a converter's model-only config, end to end through the built CLI,
// checked against open_clip on the same weights, images and texts (tests/python/image_text_cli_reference.py).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "support/test_env.h"

namespace {

namespace fs = std::filesystem;
using loom::cat;
using loom::test::run_command;
using loom::test::run_loom;

struct Converted {
  fs::path dir, weights, config;
};

// ViT-S-32-alt with open_clip's random init (no network here; the path is the one pretrained weights take),
// and the fixture images and texts.
const Converted& converted() {
  static const Converted c = [] {
    Converted out{loom::test::scratch("image_text_cli"), {}, {}};
    out.weights = out.dir / "s32.safetensors";
    out.config = out.dir / "s32.yaml";
    auto r = run_command(cat(
        loom::test::python(), " ", (loom::test::source_dir() / "scripts/convert_open_clip.py").string(),
        " ViT-S-32-alt --random-init --seed 5 --out ", out.weights.string(), " --config-out ", out.config.string()));
    INFO(r.output);
    REQUIRE(r.code == 0);
    REQUIRE(loom::test::run_python("image_text_cli_reference.py", "make " + out.dir.string()) == 0);
    return out;
  }();
  return c;
}

std::string model_args(const Converted& c) { return cat(c.config.string(), " ckpt=", c.weights.string()); }

int check_against_open_clip(const Converted& c, const fs::path& prefix) {
  return loom::test::run_python("image_text_cli_reference.py",
                                cat("check ViT-S-32-alt ", c.weights.string(), " - - ", prefix.string()));
}

}  // namespace

TEST_CASE("loom embed writes image and text embeddings equal to open_clip's", "[clip][cli][embed]") {
  const Converted& c = converted();
  SECTION("a folder and a texts file, as .npy") {
    const fs::path out = c.dir / "folder.npy";
    auto r = run_loom(cat("embed ", model_args(c), " images=", (c.dir / "zero_shot").string(),
                          " texts=", (c.dir / "texts.txt").string(), " out=", out.string(), " batch_size=5"));
    INFO(r.output);
    REQUIRE(r.code == 0);
    CHECK_THAT(r.output, Catch::Contains("embedded 12 images and 4 texts"));
    REQUIRE(fs::exists(c.dir / "folder.image.npy"));
    CHECK(check_against_open_clip(c, c.dir / "folder") == 0);
  }
  SECTION("a caption table: its captions are the texts, the long one cut and counted") {
    const fs::path out = c.dir / "table.npy";
    auto r = run_loom(cat("embed ", model_args(c), " images=", (c.dir / "pairs.csv").string(), " out=", out.string()));
    INFO(r.output);
    REQUIRE(r.code == 0);
    CHECK_THAT(r.output,
               Catch::Contains("embedded 12 images and 12 texts") && Catch::Contains("texts cut to 77 tokens: 1"));
    CHECK(check_against_open_clip(c, c.dir / "table") == 0);
  }
  SECTION("unnormalised, as safetensors with the lists in its metadata") {
    const fs::path out = c.dir / "texts.safetensors";
    auto r = run_loom(
        cat("embed ", model_args(c), " texts=", (c.dir / "texts.txt").string(), " normalize=false out=", out.string()));
    INFO(r.output);
    REQUIRE(r.code == 0);
    auto py = run_command(cat(loom::test::python(), " -c \"from safetensors import safe_open; import json; ",
                              "f = safe_open('", out.string(), "', 'pt'); t = f.get_tensor('text_embeddings'); ",
                              "m = f.metadata(); print(tuple(t.shape), float(t.norm(dim=1).min()) > 1.01, ",
                              "len(json.loads(m['loom.embed.texts'])), m['loom.embed.normalized'])\""));
    INFO(py.output);
    CHECK_THAT(py.output, Catch::Contains("(4, 256) True 4 false"));
  }
}

TEST_CASE("loom embed skips, counts and lists unreadable images", "[clip][cli][embed][bad input]") {
  const Converted& c = converted();
  auto r = run_loom(
      cat("embed ", model_args(c), " images=", (c.dir / "broken").string(), " out=", (c.dir / "broken.npy").string()));
  INFO(r.output);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.output, Catch::Contains("embedded 1 images") && Catch::Contains("unreadable images skipped: 1") &&
                           Catch::Contains("bad.png"));
  CHECK_THAT(loom::test::read_text(c.dir / "broken.json"), Catch::Contains("bad.png"));

  auto empty = run_loom(
      cat("embed ", model_args(c), " images=", (c.dir / "empty").string(), " out=", (c.dir / "empty.npy").string()));
  CHECK(empty.code == 2);
  CHECK_THAT(empty.output, Catch::Contains("empty"));
  auto no_out = run_loom(cat("embed ", model_args(c), " texts=", (c.dir / "texts.txt").string(), " out=x.txt"));
  CHECK(no_out.code == 2);
  CHECK_THAT(no_out.output, Catch::Contains("out=FILE.npy or out=FILE.safetensors"));
}

TEST_CASE("loom eval runs on the converter's model section alone", "[clip][cli][eval]") {
  const Converted& c = converted();
  auto r = run_loom(cat("eval ", model_args(c), " eval.zero_shot.root=", (c.dir / "zero_shot").string(),
                        " eval.retrieval.table=", (c.dir / "pairs.csv").string(), " eval.batch_size=4"));
  INFO(r.output);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.output, Catch::Contains("eval/zero_shot_root/top1 = ") &&
                           Catch::Contains("eval/zero_shot_root/chance = ") &&
                           Catch::Contains("eval/retrieval_table/image_to_text_R@1 = "));

  auto nothing = run_loom("eval " + model_args(c));
  CHECK(nothing.code == 2);
  CHECK_THAT(nothing.output, Catch::Contains("eval.zero_shot.root"));
  auto training_key =
      run_loom("eval " + model_args(c) + " train.steps=3 eval.zero_shot.root=" + (c.dir / "zero_shot").string());
  CHECK(training_key.code == 2);
  CHECK_THAT(training_key.output, Catch::Contains("'model' and 'eval' only"));
}

TEST_CASE("a config that contradicts the architecture recorded with the weights is refused", "[clip][cli][bad input]") {
  const Converted& c = converted();
  // Same shapes, different computation: only the record beside the weights can tell.
  auto heads = run_loom(
      cat("eval ", model_args(c), " model.vision.heads=4 eval.zero_shot.root=", (c.dir / "zero_shot").string()));
  CHECK(heads.code == 2);
  CHECK_THAT(heads.output, Catch::Contains("model.vision.heads") && Catch::Contains("s32.safetensors"));
  // An edited record no longer matches its fingerprint.
  const fs::path tampered = c.dir / "tampered.safetensors";
  auto edit = run_command(cat(loom::test::python(), " -c \"from safetensors.torch import load_file, save_file; ",
                              "from safetensors import safe_open; import json; ", "p = '", c.weights.string(),
                              "'; m = safe_open(p, 'pt').metadata(); s = json.loads(m['loom.model']); ",
                              "s['vision']['heads'] = 4; m['loom.model'] = json.dumps(s); ",
                              "save_file(load_file(p), '", tampered.string(), "', metadata=m)\""));
  REQUIRE(edit.code == 0);
  auto r = run_loom(cat("eval ", c.config.string(), " ckpt=", tampered.string(),
                        " eval.zero_shot.root=", (c.dir / "zero_shot").string()));
  CHECK(r.code == 2);
  CHECK_THAT(r.output, Catch::Contains("loom.architecture") && Catch::Contains("edited or damaged"));
}

TEST_CASE("a SigLIP conversion embeds images as open_clip does, and asks for its tokenizer's model file",
          "[siglip][cli][embed]") {
  const Converted& c = converted();  // for the fixture images
  const fs::path weights = c.dir / "siglip.safetensors", config = c.dir / "siglip.yaml";
  auto convert = run_command(
      cat(loom::test::python(), " ", (loom::test::source_dir() / "scripts/convert_open_clip.py").string(),
          " ViT-B-16-SigLIP --random-init --seed 2 --out ", weights.string(), " --config-out ", config.string()));
  INFO(convert.output);
  REQUIRE(convert.code == 0);
  const std::string model = cat(config.string(), " ckpt=", weights.string());
  auto r = run_loom(
      cat("embed ", model, " images=", (c.dir / "zero_shot").string(), " out=", (c.dir / "siglip.npy").string()));
  INFO(r.output);
  REQUIRE(r.code == 0);
  CHECK(loom::test::run_python("image_text_cli_reference.py", cat("check ViT-B-16-SigLIP ", weights.string(), " - - ",
                                                                  (c.dir / "siglip").string())) == 0);
  auto texts = run_loom(
      cat("embed ", model, " texts=", (c.dir / "texts.txt").string(), " out=", (c.dir / "siglip_texts.npy").string()));
  CHECK(texts.code == 2);
  CHECK_THAT(texts.output, Catch::Contains("model.text.tokenizer.path"));
}

TEST_CASE("the converter refuses what Loom cannot run before it writes anything", "[clip][cli][bad input]") {
  const fs::path dir = loom::test::scratch("convert_refusals");
  const std::string script = (loom::test::source_dir() / "scripts/convert_open_clip.py").string();
  // One reason each, the one that applies.
  const std::vector<std::pair<std::string, std::string>> refused{
      {"ViT-H-14-worldwide-quickgelu", "its tokenizer is Hugging Face's facebook/xlm-v-base"},
      {"ViT-B-16-SigLIP2", "not SigLIP 2's Gemma tokenizer"},
      {"xlm-roberta-base-ViT-B-32", "the text tower is xlm-roberta-base"},
      {"EVA02-B-16", "the image tower is timm's eva02_base_patch16_clip_224"},
      {"ViT-L-14-CLIPA", "final_ln_after_pool=True"}};
  for (const auto& [model, reason] : refused) {
    INFO(model);
    const fs::path out = dir / (model + ".safetensors");
    auto r = run_command(cat(loom::test::python(), " ", script, " ", model, " --random-init --out ", out.string()));
    CHECK(r.code != 0);
    CHECK_THAT(r.output, Catch::Contains(reason));
    CHECK_FALSE(fs::exists(out));
  }
  CHECK(fs::is_empty(dir));
}

// scripts/convert_lpips.py on the lpips wheel's own head files (legacy torch.save format) and on
// torchvision-style backbone files: the outputs load into the perceptual loss; files that do not fit stop
// the script with a message. Expectations come from tests/python/lpips_reference.py converter.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <string>

#include "core/io/weights.h"
#include "core/text/cat.h"
#include "losses/perceptual/perceptual_loss.h"
#include "support/gradient_check.h"
#include "support/test_env.h"

namespace {

using Catch::Contains;

loom::test::CommandResult convert(const std::string& args) {
  return loom::test::run_command(loom::cat(
      loom::test::python(), " ", (loom::test::source_dir() / "scripts" / "convert_lpips.py").string(), " ", args));
}

// The converter's inputs and expectations (tests/python/lpips_reference.py converter) in a fresh folder.
std::filesystem::path prepared(const std::string& name) {
  const auto dir = loom::test::scratch(name);
  REQUIRE(loom::test::run_python("lpips_reference.py", "converter " + dir.string()) == 0);
  return dir;
}

}  // namespace

TEST_CASE("convert_lpips re-saves the lpips wheel's head files for the perceptual loss",
          "[losses][perceptual][convert]") {
  const auto dir = prepared("convert_lpips_heads");
  const std::string heads_dir = loom::test::read_text(dir / "wheel.txt") + "/weights/v0.1/";
  const auto expected = loom::test::read_reference((dir / "heads.safetensors").string());
  for (const std::string net : {"vgg", "alex"}) {
    const std::string out = (dir / (net + "_heads.safetensors")).string();
    const auto result = convert(loom::cat("heads ", heads_dir, net, ".pth ", out, " --net ", net));
    INFO(result.output);
    REQUIRE(result.code == 0);
    const auto converted = loom::test::read_reference(out);
    REQUIRE(converted.size() == 5);
    loom::PerceptualLoss loss(loom::PerceptualLossOptions{.net = net, .head_weights = out}, "p");
    const auto state = loom::weights::state_dict(*loss);
    for (int k = 0; k < 5; ++k) {
      const std::string key = loom::cat("lin", k, ".model.1.weight");
      CHECK(torch::equal(converted.at(key), expected.at(net + "." + key)));
      const auto it = std::find_if(state.begin(), state.end(), [&](const auto& e) { return e.first == key; });
      REQUIRE(it != state.end());
      CHECK(torch::equal(it->second, converted.at(key)));
    }
  }
  // The use_dropout=False key trap is renamed, with a note.
  const auto trap =
      convert(loom::cat("heads ", (dir / "nodropout_vgg.pth").string(), " ", (dir / "nodropout.safetensors").string()));
  INFO(trap.output);
  REQUIRE(trap.code == 0);
  CHECK_THAT(trap.output, Contains("use_dropout=False"));
  const auto renamed = loom::test::read_reference((dir / "nodropout.safetensors").string());
  CHECK(renamed.size() == 5);
  CHECK(torch::equal(renamed.at("lin2.model.1.weight"), expected.at("vgg.lin2.model.1.weight")));

  const auto wrong_net =
      convert(loom::cat("heads ", heads_dir, "alex.pth ", (dir / "x.safetensors").string(), " --net vgg"));
  CHECK(wrong_net.code == 2);
  CHECK_THAT(wrong_net.output, Contains("LPIPS-alex heads") && Contains("not LPIPS-vgg"));
  const auto squeeze = convert(loom::cat("heads ", heads_dir, "squeeze.pth ", (dir / "x.safetensors").string()));
  CHECK(squeeze.code == 2);
  CHECK_THAT(squeeze.output, Contains("SqueezeNet"));
}

TEST_CASE("convert_lpips re-saves torchvision backbone files for the perceptual loss",
          "[losses][perceptual][convert]") {
  const auto dir = prepared("convert_lpips_backbone");
  const std::string alexnet = (dir / "alexnet.safetensors").string();
  const auto backbone = convert(loom::cat("backbone ", (dir / "alexnet_tv.pth").string(), " ", alexnet));
  INFO(backbone.output);
  REQUIRE(backbone.code == 0);
  const auto file = loom::test::read_reference(alexnet);
  CHECK(file.count("classifier.6.bias") == 0);
  loom::PerceptualLoss l1(loom::PerceptualLossOptions{.kind = "vgg_l1", .net = "alex", .backbone_weights = alexnet},
                          "p");
  CHECK(l1->metric_name() == "vgg_l1_alexnet");
  for (const auto& [name, tensor] : loom::weights::state_dict(*l1)) {  // net.slice{k}.{i}.* <- features.{i}.*
    const std::string features = "features." + name.substr(name.find('.', 4) + 1);
    CHECK(torch::equal(tensor, file.at(features)));
  }
  const auto wrong_arch = convert(loom::cat("backbone ", (dir / "alexnet_tv.pth").string(), " ",
                                            (dir / "x.safetensors").string(), " --arch vgg16"));
  CHECK(wrong_arch.code == 2);
  CHECK_THAT(wrong_arch.output, Contains("alexnet features, not vgg16"));
  const auto heads =
      convert(loom::cat("backbone ", (dir / "nodropout_vgg.pth").string(), " ", (dir / "x.safetensors").string()));
  CHECK(heads.code == 2);
  CHECK_THAT(heads.output, Contains("unexpected keys lin0.model.0.weight"));
}

// The stylegan2 recipe's load_weight_file (what `loom eval ckpt=FILE` calls once the model is built):
// a file whose recorded model section differs from the built model's, defaults included, is refused
// naming the key and the file; one that agrees loads into G and its EMA copy.
#include <catch2/catch.hpp>

#include <torch/torch.h>

#include "core/config/config_error.h"
#include "core/config/config_loader.h"
#include "core/registry/registries.h"
#include "models/model_metadata.h"
#include "models/stylegan2/generator.h"
#include "support/test_env.h"
#include "train/recipe.h"

TEST_CASE("stylegan2 recipe: load_weight_file refuses weights made with another conv_clamp", "[stylegan2][metadata]") {
  using namespace loom;
  const auto root = test::scratch("stylegan2_weight_file");
  const std::vector<std::string> tiny{"model.resolution=16",
                                      "model.z_dim=16",
                                      "model.w_dim=16",
                                      "model.channel_base=128",
                                      "model.channel_max=16",
                                      "data.train.image_size=16",
                                      "data.train.images_per_class=2",
                                      "data.train.root=" + (root / "shapes").string()};
  const ConfigNode config = load_config((test::source_dir() / "configs/stylegan2/small_shapes.yaml").string(), tiny);
  std::shared_ptr<Recipe> recipe = recipe_registry().get("stylegan2")(config);
  TrainSetup setup = recipe->setup(RecipeContext{config, c10::kCPU, 0, nullptr});

  // The same architecture, trained with a clamp the config leaves at its default (none).
  ConfigNode clamped = *config.find("model");
  apply_override(clamped, "conv_clamp=0.05");
  Generator g(read_config<StyleGan2Options>(clamped, "model"));
  const std::string file = (root / "clamped.safetensors").string();
  weights::write(file, weights::state_dict(*g), model_metadata(clamped));
  CHECK_THROWS_AS(recipe->load_weight_file(setup, file), ConfigError);
  CHECK_THROWS_WITH(recipe->load_weight_file(setup, file),
                    Catch::Contains("model.conv_clamp: the config gives null, but " + file + " was made with 0.05"));

  const std::string agreeing = (root / "agreeing.safetensors").string();
  weights::write(agreeing, weights::state_dict(*g), model_metadata(*config.find("model")));
  recipe->load_weight_file(setup, agreeing);
  CHECK(
      torch::equal(weights::state_dict(*setup.modules.at("G")).front().second, weights::state_dict(*g).front().second));
}

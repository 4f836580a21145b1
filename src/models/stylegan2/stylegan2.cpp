#include "models/stylegan2/stylegan2.h"

#include "core/registry/registries.h"
#include "core/text/cat.h"
#include "core/text/with_commas.h"

namespace loom {

void validate(const StyleGan2Options& options, const ConfigNode& section, const std::string& path) {
  using config_detail::fail;
  if ((int64_t{1} << options.log2_resolution()) != options.resolution)
    fail(section, path + ".resolution", cat(options.resolution, " is not a power of two"));
  if (options.mbstd_channels > 0 && options.channels_at(4) % options.mbstd_channels != 0)
    fail(section, path + ".mbstd_channels", cat("must divide the 4x4 channels (", options.channels_at(4), ")"));
  if (options.channel_base / options.resolution < 1)
    fail(section, path + ".channel_base", cat(options.channel_base, " leaves no channels at ", options.resolution));
}

StyleGan2::StyleGan2(const StyleGan2Options& options) : options_(options) {
  G = register_module("G", Generator(options));
  D = register_module("D", Discriminator(options));
}

std::vector<std::pair<std::string, int64_t>> StyleGan2::multiply_accumulates() const {
  return {{"G.mapping", G->mapping->multiply_accumulates()},
          {"G.synthesis", G->synthesis->multiply_accumulates()},
          {"D", D->multiply_accumulates()}};
}

int64_t noise_constant_elements(const GeneratorImpl& generator) {
  int64_t n = 0;
  for (const auto& buffer : generator.named_buffers())
    if (buffer.key().ends_with("noise_const")) n += buffer.value().numel();
  return n;
}

std::vector<std::string> StyleGan2::info_notes() const {
  int64_t params = 0;
  for (const auto& p : G->parameters()) params += p.numel();
  return {cat("num_ws: ", G->num_ws()),
          cat("G parameters + constant noise maps: ", with_commas(params + noise_constant_elements(*G)))};
}

void register_stylegan2_models() {
  model_registry().add(
      "stylegan2",
      [](const ConfigNode& section, const std::string& path) {
        auto options = read_config<StyleGan2Options>(section, path);
        validate(options, section, path);
        return std::make_shared<StyleGan2>(options);
      },
      "StyleGAN2 generator G + discriminator D (NVlabs stylegan2-ada-pytorch layout)");
}

}  // namespace loom

#include "models/stylegan2/pretrained_generator.h"

#include "core/config/config_schema.h"
#include "core/error.h"
#include "core/text/cat.h"
#include "models/model_metadata.h"
#include "models/stylegan2/generator_weights.h"

namespace loom {

PretrainedGenerator load_pretrained_generator(const std::filesystem::path& source, const ConfigNode* model_section,
                                              const std::string& key) {
  const GeneratorFile file = read_generator(source);
  return load_pretrained_generator(file, pretrained_model_section(file, model_section, key), key);
}

PretrainedGenerator load_pretrained_generator(const GeneratorFile& file, const ConfigNode& section,
                                              const std::string& key) {
  PretrainedGenerator out;
  out.source = file.source;
  out.model = section;

  const auto options = read_config<StyleGan2Options>(out.model, key);
  if (options.name != "stylegan2") {
    const ConfigNode* name = out.model.find("name");
    fail_config(name ? *name : out.model, key + ".name",
                cat("a stylegan2 generator is needed, not '", options.name, "'"));
  }
  validate(options, out.model, key);
  out.generator = Generator(options);
  out.tensors_loaded = weights::load_into(*out.generator, generator_weights(file), {}, file.source).loaded;
  out.generator->eval();
  for (auto& parameter : out.generator->parameters()) parameter.requires_grad_(false);
  out.discriminator = discriminator_weights(file);
  return out;
}

}  // namespace loom

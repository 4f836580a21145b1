#include "app/fewshot_stylizer.h"

#include "core/config/config_error.h"
#include "core/config/config_schema.h"
#include "core/error.h"
#include "core/io/weights.h"
#include "core/text/cat.h"
#include "models/blazestylegan/blazestylegan.h"
#include "models/encoder/mobilenet_v2_encoder.h"
#include "models/stylegan2/generator_weights.h"
#include "train/recipes/fewshot.h"

namespace loom::cli {

FewShotStylizer load_fewshot_stylizer(const ConfigNode& config, const std::string& config_path,
                                      const std::string& checkpoint) {
  const ConfigNode* recipe = config.find("recipe");
  if (!recipe) throw ConfigError(cat(config_path, ": no recipe section (give the fewshot run's config)"));
  const auto options = read_config<FewShotRecipeOptions>(*recipe, "recipe");
  if (options.generator.empty() || options.encoder.empty())
    throw ConfigError("recipe: the config must name recipe.generator and recipe.encoder (a fewshot run's config)");

  FewShotStylizer out{load_pretrained_image_generator(options.generator, nullptr, "recipe.generator"), {}, {}, 0};
  if (!out.generator.is_student())
    throw ConfigError(
        cat("recipe.generator: ", out.generator.source, " is not a BlazeStyleGAN student (the fewshot recipe's)"));
  BlazeStyleGan& student = *out.generator.student;
  const GeneratorFile tuned = read_generator(checkpoint);
  // A source that records another family fails here by name, not by a list of missing tensors.
  if (const ConfigNode* name = tuned.model ? tuned.model->find("name") : nullptr;
      name && name->is_scalar() && name->scalar() != "blazestylegan")
    throw UserError(cat("ckpt=", tuned.source, ": a '", name->scalar(),
                        "' model, not a fine-tuned BlazeStyleGAN student (give the fewshot run)"));
  out.tuned_tensors = weights::load_into(student, generator_weights(tuned), {}, tuned.source).loaded;
  out.tuned_source = tuned.source;
  out.encoder = load_pretrained_encoder(options.encoder, nullptr, "recipe.encoder");
  const auto& e = out.encoder.encoder->options();
  if (e.resolution != student.options().resolution || e.num_ws != student.synthesis->num_ws())
    throw UserError(cat("recipe.encoder: ", out.encoder.source, " does not fit the student (", e.resolution, " px, ",
                        e.num_ws, " ws vs ", student.options().resolution, " px, ", student.synthesis->num_ws(), ")"));
  student.eval();
  return out;
}

}  // namespace loom::cli

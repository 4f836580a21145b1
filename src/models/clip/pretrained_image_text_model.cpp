#include "models/clip/pretrained_image_text_model.h"

#include "core/config/config_error.h"
#include "core/io/weights.h"
#include "core/registry/registries.h"
#include "core/text/cat.h"
#include "models/model_metadata.h"
#include "models/weight_source.h"

namespace loom {

PretrainedImageTextModel load_pretrained_image_text_model(const std::filesystem::path& source,
                                                          const ConfigNode* model_section, const std::string& key) {
  const WeightSource file = read_weight_source(source);
  PretrainedImageTextModel out;
  out.source = file.source;
  out.section = pretrained_model_section(file, model_section, key);
  const std::string name = registered_name(model_registry(), out.section, key);
  out.model = std::dynamic_pointer_cast<ImageTextModel>(model_registry().get(name)(out.section, key));
  if (!out.model)
    fail_config(*out.section.find("name"), key + ".name",
                cat("'", name, "' is not an image-text model (clip, siglip)"));
  out.fingerprint = architecture_fingerprint(out.section);
  // The trainer's names (train/training_state.h): the EMA copy first, then the trained model.
  weights::NamedTensors tensors = under_first_prefix(file.tensors, {"ema.model.", "module.model."});
  const weights::LoadReport report =
      weights::load_into(*out.model, tensors.empty() ? file.tensors : tensors, {}, file.source);
  out.tensors_loaded = report.loaded;
  out.model->eval();
  for (auto& p : out.model->parameters()) p.set_requires_grad(false);
  return out;
}

}  // namespace loom

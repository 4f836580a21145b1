#include "models/encoder/pretrained_encoder.h"

#include "core/config/config_schema.h"
#include "core/error.h"
#include "core/io/weights.h"
#include "core/text/cat.h"
#include "models/encoder/mobilenet_v2_encoder.h"

namespace loom {

PretrainedEncoder load_pretrained_encoder(const std::filesystem::path& source, const ConfigNode* model_section,
                                          const std::string& key) {
  const WeightSource file = read_weight_source(source);
  const ConfigNode section = pretrained_model_section(file, model_section, key);
  const ConfigNode* name = section.find("name");
  if (!name || !name->is_scalar() || name->scalar() != "mobilenet_v2_encoder")
    throw UserError(cat(key, ": ", file.source, " is not an inversion encoder (model.name ",
                        name && name->is_scalar() ? name->scalar() : "missing", "; expected mobilenet_v2_encoder)"));
  PretrainedEncoder out;
  auto options = read_config<MobileNetV2EncoderOptions>(section, key);
  validate(options, section, key);
  options.backbone_weights.clear();  // the trained weights below replace the ImageNet start
  out.encoder = std::make_shared<MobileNetV2Encoder>(options);
  out.tensors_loaded = weights::load_into(*out.encoder, encoder_weights(file), {}, file.source).loaded;
  out.encoder->eval();
  for (auto& parameter : out.encoder->parameters()) parameter.requires_grad_(false);
  out.model = section;
  out.source = file.source;
  return out;
}

weights::NamedTensors encoder_weights(const WeightSource& source) {
  weights::NamedTensors state = under_first_prefix(source.tensors, {"ema.E.", "module.E.", "E."});
  return state.empty() ? source.tensors : state;
}

at::Tensor invert(MobileNetV2Encoder& encoder, const at::Tensor& images, const at::Tensor& w_avg, int64_t stage) {
  return encoder.forward(images, stage) + w_avg.view({1, 1, -1});
}

}  // namespace loom

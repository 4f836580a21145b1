#include "models/blazestylegan/pretrained_student.h"

#include "core/config/config_error.h"
#include "core/config/config_schema.h"
#include "core/error.h"
#include "core/text/cat.h"

namespace loom {

PretrainedStudent load_pretrained_student(const GeneratorFile& file, const ConfigNode& section,
                                          const std::string& key) {
  const auto options = read_config<BlazeStyleGanOptions>(section, key);
  validate(options, section, key);
  PretrainedStudent out;
  out.student = std::make_shared<BlazeStyleGan>(options);
  out.tensors_loaded = weights::load_into(*out.student, generator_weights(file), {}, file.source).loaded;
  out.student->eval();
  for (auto& parameter : out.student->parameters()) parameter.requires_grad_(false);
  return out;
}

SeedGenerator seed_generator(BlazeStyleGan& student) {
  if (!student.mapping)
    throw UserError("the student has no mapping network (model.mapping_layers: 0), so it cannot generate from seeds");
  BlazeSynthesisImpl* synthesis = student.synthesis.get();
  return {student.mapping.get(), [synthesis](const at::Tensor& ws, NoiseMode noise_mode) {
            return synthesis->forward(ws, noise_mode, {}, /*all_levels=*/false).image;
          }};
}

}  // namespace loom

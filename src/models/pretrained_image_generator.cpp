#include "models/pretrained_image_generator.h"

#include "models/blazestylegan/pretrained_student.h"
#include "models/stylegan2/pretrained_generator.h"

namespace loom {

at::Tensor PretrainedImageGenerator::w_avg() const { return seeds.mapping->w_avg; }

PretrainedImageGenerator load_pretrained_image_generator(const std::filesystem::path& source,
                                                         const ConfigNode* model_section, const std::string& key) {
  const GeneratorFile file = read_generator(source);
  // The architecture the weights were made with fills in what the config leaves out; a contradiction
  // (a wrong conv_clamp would silently change the images) is an error.
  const ConfigNode section = pretrained_model_section(file, model_section, key);
  const ConfigNode* name = section.find("name");
  PretrainedImageGenerator out;
  out.model = section;
  out.source = file.source;
  if (name && name->is_scalar() && name->scalar() == "blazestylegan") {
    PretrainedStudent s = load_pretrained_student(file, section, key);
    out.module = out.student = s.student;
    out.seeds = seed_generator(*s.student);
    out.resolution = s.student->options().resolution;
    out.num_ws = s.student->synthesis->num_ws();
    out.w_dim = s.student->options().w_dim;
    out.tensors_loaded = s.tensors_loaded;
    out.discriminator = discriminator_weights(file);
  } else {
    PretrainedGenerator g = load_pretrained_generator(file, section, key);
    out.module = g.generator.ptr();
    out.seeds = seed_generator(*g.generator);
    out.resolution = g.generator->options().resolution;
    out.num_ws = g.generator->num_ws();
    out.w_dim = g.generator->options().w_dim;
    out.c_dim = g.generator->options().c_dim;
    out.tensors_loaded = g.tensors_loaded;
    out.discriminator = std::move(g.discriminator);
  }
  return out;
}

}  // namespace loom

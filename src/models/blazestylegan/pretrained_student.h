#pragma once
// A distilled BlazeStyleGAN student built and loaded from its file (a distill run folder or checkpoint,
// whose module "G" is the student, or a `loom export-weights` file), with the model section the file
// records: what `loom generate` samples from. Its mapping network is the teacher's copy, so the same
// seeds and psi give the teacher's W+ and the two grids line up.
#include <cstddef>
#include <memory>
#include <string>

#include "core/config/config_node.h"
#include "models/blazestylegan/blazestylegan.h"
#include "models/stylegan2/generator_weights.h"
#include "models/stylegan2/latents.h"

namespace loom {

struct PretrainedStudent {
  std::shared_ptr<BlazeStyleGan> student;  // CPU, loaded strictly (the EMA copy of a run), eval mode
  std::size_t tensors_loaded = 0;
};

// `section` is the reconciled model section (pretrained_model_section); `key` names it in errors.
PretrainedStudent load_pretrained_student(const GeneratorFile& file, const ConfigNode& section, const std::string& key);

// Seeds through the student's mapping, then its synthesis (inference: the last head only). UserError
// when the student has no mapping network (mapping_layers 0: it only takes W+).
SeedGenerator seed_generator(BlazeStyleGan& student);

}  // namespace loom

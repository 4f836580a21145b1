#pragma once
// Whichever image generator a weight source holds, as the family its model section names: a StyleGAN2
// generator (teacher) or a distilled BlazeStyleGAN student. What `loom generate` samples from and what
// the inversion encoder and few-shot recipes invert into; both families take W+ [N, num_ws, w_dim]
// and share the teacher's mapping network (the student's is a copy), so `w_avg` is the teacher's.
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>

#include <torch/nn/module.h>

#include "core/config/config_node.h"
#include "models/stylegan2/generator_weights.h"
#include "models/stylegan2/latents.h"

namespace loom {

class BlazeStyleGan;

struct PretrainedImageGenerator {
  std::shared_ptr<torch::nn::Module> module;  // on the CPU, loaded strictly (the EMA copy of a run), eval mode
  std::shared_ptr<BlazeStyleGan> student;     // the same module when it is a student, else null
  SeedGenerator seeds;                        // its mapping and its synthesis as a function of W+
  ConfigNode model;                           // the section it was built from
  weights::NamedTensors discriminator;        // the source's D (unprefixed NVlabs names), empty when none
  int64_t resolution = 0, num_ws = 0, w_dim = 0, c_dim = 0;
  std::size_t tensors_loaded = 0;
  std::string source;

  bool is_student() const { return student != nullptr; }
  at::Tensor w_avg() const;  // [w_dim], the mapping's tracked mean w
};

// `model_section` (may be null) is the config's section at `key`, reconciled with what the source
// records (models/weight_source.h). UserError naming the file when it holds neither family.
PretrainedImageGenerator load_pretrained_image_generator(const std::filesystem::path& source,
                                                         const ConfigNode* model_section, const std::string& key);

}  // namespace loom

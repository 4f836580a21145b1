#pragma once
// The modules of a fine-tuned few-shot stylizer, loaded from the fewshot run's config (its recipe names
// the student and the encoder) and the run's checkpoint (the fine-tuned student's weights): the chain
// `loom stylize` runs and `loom export what=stylizer` writes, on the CPU in eval mode.
#include <cstddef>
#include <string>

#include <ATen/core/Tensor.h>

#include "core/config/config_node.h"
#include "models/encoder/pretrained_encoder.h"
#include "models/pretrained_image_generator.h"

namespace loom::cli {

struct FewShotStylizer {
  PretrainedImageGenerator generator;  // the student (generator.student), fine-tuned weights loaded
  PretrainedEncoder encoder;
  std::string tuned_source;  // where the fine-tuned weights came from
  std::size_t tuned_tensors = 0;
};

// ConfigError when the config has no fewshot recipe or its generator is not a BlazeStyleGAN student;
// UserError when the checkpoint's weights or the encoder do not fit the student.
FewShotStylizer load_fewshot_stylizer(const ConfigNode& config, const std::string& config_path,
                                      const std::string& checkpoint);

}  // namespace loom::cli

#pragma once
// A trained inversion encoder from its file (an `encoder` run folder or checkpoint, whose module "E" is
// the encoder, or an exported weight file), and the inversion every user of it does: W+ = E(image) +
// w_avg, the residual around the generator's mean w that pSp, e4e and MediaPipe's stylizer all use.
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>

#include <ATen/core/Tensor.h>

#include "core/config/config_node.h"
#include "core/io/weights.h"
#include "models/weight_source.h"

namespace loom {

class MobileNetV2Encoder;

struct PretrainedEncoder {
  std::shared_ptr<MobileNetV2Encoder> encoder;  // CPU, loaded strictly (the EMA copy of a run), eval mode, frozen
  ConfigNode model;                             // the section it was built from
  std::size_t tensors_loaded = 0;
  std::string source;
};

// `model_section` (may be null) is reconciled with what the source records; UserError naming `key` and
// the file when it is not a mobilenet_v2_encoder or its weights do not fit.
PretrainedEncoder load_pretrained_encoder(const std::filesystem::path& source, const ConfigNode* model_section,
                                          const std::string& key);

// The encoder's tensors of a source: under "ema.E." / "module.E." (a run) or "E.", else all of them.
weights::NamedTensors encoder_weights(const WeightSource& source);

// images [N, 3, R, R] in [-1, 1] -> W+ [N, num_ws, w_dim] = E(images, stage) + w_avg ([w_dim]).
at::Tensor invert(MobileNetV2Encoder& encoder, const at::Tensor& images, const at::Tensor& w_avg, int64_t stage = -1);

}  // namespace loom

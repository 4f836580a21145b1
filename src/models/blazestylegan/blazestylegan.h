#pragma once
// The registered model `blazestylegan`: the BlazeStyleGAN student, `mapping` (teacher-shaped, so the
// distill recipe copies the teacher's into it and a student weight file generates from seeds on its
// own; absent with mapping_layers 0) and `synthesis` (blaze_synthesis.h).
//
// Counting (`loom info`, stylegan.md §5.2, the convention of the paper's 2.01 / 2.05 / 2.07 M and
// 1.28 / 1.57 / 4.70 G): parameters are the synthesis network's trainable parameters (every level's
// head included; noise_const buffers not); mult-adds are of one image at inference (the last head
// only), transposed convs at their input resolution, other convs at their output resolution, affines
// and the head counted, FIR / demodulation / noise / bias / activations / Haar transforms not. The
// mapping network has its own row and is not part of the paper's count.
#include <string>
#include <utility>
#include <vector>

#include "models/blazestylegan/blaze_synthesis.h"
#include "models/blazestylegan/blazestylegan_options.h"
#include "models/model.h"
#include "models/stylegan2/mapping_network.h"

namespace loom {

class BlazeStyleGan : public Model {
 public:
  explicit BlazeStyleGan(const BlazeStyleGanOptions& options);

  // "mapping", then "synthesis.b4", "synthesis.b8", … (inference: the last level with its head).
  std::vector<std::pair<std::string, int64_t>> multiply_accumulates() const override;
  int info_depth() const override { return 2; }
  std::vector<std::string> info_notes() const override;
  const BlazeStyleGanOptions& options() const { return options_; }

  MappingNetwork mapping{nullptr};
  BlazeSynthesis synthesis{nullptr};

 private:
  BlazeStyleGanOptions options_;
};

void register_blazestylegan_models();

}  // namespace loom

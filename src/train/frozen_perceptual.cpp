#include "train/frozen_perceptual.h"

#include "train/frozen_modules.h"

namespace loom {

PerceptualLoss add_frozen_perceptual(TrainSetup& setup, const std::string& name, const PerceptualLossOptions& options,
                                     const std::string& key, c10::Device device) {
  PerceptualLoss loss(options, key);
  FrozenModule frozen = freeze_module(loss.ptr(), "", device, key);
  frozen.source = loss->metric_name();
  setup.frozen[name] = frozen;
  return loss;
}

}  // namespace loom

#pragma once
// The perceptual networks recipes keep frozen (training losses and evaluation distances alike).
#include <string>

#include <c10/core/Device.h>

#include "losses/perceptual/perceptual_loss.h"
#include "train/recipe.h"

namespace loom {

// The loss of `options` (config key `key`, for messages), frozen into setup.frozen[name] on `device`,
// recorded under its metric name (a random backbone says so in the checkpoint's record too).
PerceptualLoss add_frozen_perceptual(TrainSetup& setup, const std::string& name, const PerceptualLossOptions& options,
                                     const std::string& key, c10::Device device);

}  // namespace loom

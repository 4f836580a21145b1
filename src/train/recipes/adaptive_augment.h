#pragma once
// Adaptive discriminator augmentation as a GAN recipe runs it (NVlabs training_loop.py): the ADA pipe
// on everything D sees, the signs of D on reals observed, and p moved every `ada.interval` steps from
// the signs of all ranks. Shared by the stylegan2 and distill recipes.
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "nn/ada_controller.h"
#include "nn/augment_pipe.h"
#include "train/recipe.h"

namespace loom {

class ProcessGroup;

class AdaptiveAugment {
 public:
  AdaptiveAugment(const nn::AugmentPipeOptions& pipe, const nn::AdaOptions& ada);
  // Builds the pipe on `device` and registers it as module "augment" (its buffer p is checkpointed).
  void setup(TrainSetup& setup, c10::Device device, std::shared_ptr<ProcessGroup> group);
  // The images through the pipe (unchanged while p is 0).
  at::Tensor operator()(const at::Tensor& images);
  void observe(const at::Tensor& real_logits) { ada_.observe(real_logits); }
  // Moves p when due (every rank alike, from the sign sums of all ranks).
  void after_step(const StepInfo& info);
  double p() const { return ada_.p(); }
  // Checkpointed counters, prefixed "ada_"; set_counters ignores other keys.
  std::map<std::string, double> counters() const;
  void set_counters(const std::map<std::string, double>& counters);

 private:
  nn::AugmentPipeOptions pipe_options_;
  nn::AdaController ada_;
  nn::AugmentPipe pipe_{nullptr};
  std::shared_ptr<ProcessGroup> group_;
  int64_t images_at_update_ = 0;
};

}  // namespace loom

#pragma once
// Exponential moving average of a module's weights (the copy GANs sample from and CLIP evaluates).
// Two ways to say how fast it moves: a fixed `decay` per step, or a half-life in training images
// (StyleGAN2's ema_kimg) with an optional ramp-up that shortens it early in training.
#include <cstdint>

#include "core/config/config_schema.h"

namespace torch::nn {
class Module;
}

namespace loom {

struct EmaOptions {
  double decay = 0.999;         // per-step decay, used when half_life_images is 0
  double half_life_images = 0;  // images for the EMA weight of old values to halve (10000 = ema_kimg 10)
  double rampup = 0;            // half-life limited to rampup × images seen (0 = off; StyleGAN2: 0.05)
  int64_t start_step = 0;       // before this step the average just copies the source

  template <class V>
  void visit(V& v) {
    v("decay", decay, {.help = "per-step decay (when half_life_images is 0)", .min = 0.0, .max = 1.0});
    v("half_life_images", half_life_images,
      {.help = "half-life in training images (StyleGAN2 ema_kimg x 1000)", .min = 0.0});
    v("rampup", rampup, {.help = "limit the half-life to rampup x images seen (0 = off)", .min = 0.0});
    v("start_step", start_step, {.help = "copy instead of averaging before this step", .min = 0});
  }
};

// The weight β of the old average for one step of `batch_images` images after `images_seen` images.
double ema_beta(const EmaOptions& options, int64_t step, int64_t batch_images, int64_t images_seen);

// target ← β·target + (1 − β)·source for parameters; buffers are copied. Modules must have the same
// structure; throws std::logic_error otherwise.
void ema_update(torch::nn::Module& target, const torch::nn::Module& source, double beta);

}  // namespace loom

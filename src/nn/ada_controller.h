#pragma once
// The adaptive augmentation strength heuristic of StyleGAN2-ADA: r_t = E[sign(D(real))] measures how
// confidently the discriminator recognises (augmented) reals, i.e. how much it overfits. Every `interval`
// iterations p moves by ±(images seen in the interval)/(kimg·1000) towards r_t = target, so p can cross
// 0 → 1 in `kimg` thousand images. Host-side state only; the stylegan2 recipe copies p() into AugmentPipe.
#include <cstdint>
#include <map>
#include <string>

#include <ATen/core/Tensor.h>

#include "core/config/config_schema.h"

namespace loom::nn {

struct AdaOptions {
  std::string mode = "ada";  // ada: adaptive p; fixed: p = initial_p; off: p = 0
  double target = 0.6;       // target E[sign(D(real))]
  int64_t interval = 4;      // update every `interval` completed iterations
  double kimg = 500;         // thousands of images for p to move by 1
  double initial_p = 0;

  template <class V>
  void visit(V& v) {
    v("mode", mode, {.help = "ada (adaptive), fixed (p = initial_p) or off", .choices = {"ada", "fixed", "off"}});
    v("target", target, {.help = "target mean sign of D on reals", .min = 0.0, .max = 1.0});
    v("interval", interval, {.help = "iterations between p updates", .min = 1});
    v("kimg", kimg, {.help = "thousands of images for p to change by 1", .min = 1e-9});
    v("initial_p", initial_p, {.help = "starting (or fixed) augmentation probability", .min = 0.0, .max = 1.0});
  }
};

class AdaController {
 public:
  explicit AdaController(const AdaOptions& options = {});  // throws UserError for bad options

  // Accumulates sign(real_logits) (any shape; detached), summed on the logits' device until read.
  void observe(const at::Tensor& real_logits);
  // Whether to call update() after `completed_steps` iterations (counted from 1): every `interval`-th.
  bool due(int64_t completed_steps) const;
  // Mode ada: p += sign(sign_sum/count - target) · batch_images · interval / (kimg · 1000), clamped to
  // [0, 1] (NVlabs clamps only at 0; beyond 1 every gate already fires, so the upper clamp only keeps p
  // from drifting where it has no effect). No observations: p stays. Always resets the accumulators.
  // `batch_images` is the global batch (all ranks) of one iteration.
  void update(int64_t batch_images);

  double p() const { return p_; }
  double last_mean_sign() const { return last_mean_sign_; }  // 0 before the first update with data

  // The pending accumulators, so a distributed caller can all-reduce them before update().
  double sign_sum() const;  // reads the device-side pending sum
  double count() const { return count_; }
  void set_accumulators(double sign_sum, double count);

  // Checkpoint state: p, the pending accumulators and the last mean sign; restore() takes the same
  // keys (throws UserError when one is missing). Resuming mid-interval continues exactly.
  std::map<std::string, double> state() const;
  void restore(const std::map<std::string, double>& state);

  const AdaOptions& options() const { return options_; }

 private:
  AdaOptions options_;
  double p_ = 0;
  void fold() const;  // moves the device-side pending sum into sign_sum_
  // Signs observed since the last fold, summed on the logits' device; mutable: reading folds it in.
  mutable at::Tensor pending_;
  mutable double sign_sum_ = 0;
  double count_ = 0;
  double last_mean_sign_ = 0;
};

}  // namespace loom::nn

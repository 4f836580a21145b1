#pragma once
// Gradient clipping of one phase's parameters, by global norm or by value.
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "core/config/config_schema.h"

namespace loom {

struct GradientClipOptions {
  std::string mode = "none";  // none | norm | value
  double max = 1.0;           // max global L2 norm, or max |gradient| per element

  template <class V>
  void visit(V& v) {
    v("mode", mode, {.help = "none, norm (global L2) or value (elementwise)", .choices = {"none", "norm", "value"}});
    v("max", max, {.help = "the clipping threshold", .min = 0.0});
  }
};

// The global L2 norm of the gradients before clipping, as a scalar tensor on their device (undefined
// when there are none). Reading it as a double is a host sync, which the trainer never does per step.
struct GradientNorm {
  at::Tensor value;
  explicit operator double() const;
};

// Clips in place on the device, without a host sync.
GradientNorm clip_gradients(const std::vector<at::Tensor>& parameters, const GradientClipOptions& options);

}  // namespace loom

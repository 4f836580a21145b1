#pragma once
// Mixed precision: autocast around the forward pass (bf16 on CPU; bf16 or fp16 on CUDA) and, for fp16,
// dynamic loss scaling: losses are multiplied by a scale before backward, gradients divided by it
// after; a step whose gradients overflowed is skipped and the scale halved, and the scale doubles after
// `growth_interval` clean steps.
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/DeviceType.h>
#include <c10/core/ScalarType.h>

#include "core/config/config_schema.h"

namespace loom {

struct AmpOptions {
  bool enabled = false;
  std::string dtype = "bf16";  // fp16 needs CUDA and turns on loss scaling
  double init_scale = 65536.0;
  int64_t growth_interval = 2000;

  template <class V>
  void visit(V& v) {
    v("enabled", enabled, {.help = "autocast the forward pass"});
    v("dtype", dtype, {.help = "bf16 (CPU, CUDA) or fp16 (CUDA, with loss scaling)", .choices = {"bf16", "fp16"}});
    v("init_scale", init_scale, {.help = "initial fp16 loss scale", .min = 1.0});
    v("growth_interval", growth_interval, {.help = "clean steps before the fp16 loss scale doubles", .min = 1});
  }
};

// Enables autocast for one device type while alive; restores the previous state.
class AutocastScope {
 public:
  AutocastScope(c10::DeviceType device, const AmpOptions& options);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  c10::DeviceType device_;
  bool active_ = false;
  bool was_enabled_ = false;
  c10::ScalarType was_dtype_{};
};

// The outcome of LossScaler::unscale: `found_inf` is a float32 [1] flag on the device, 1 when a
// gradient is inf/NaN and the optimizer step must be skipped. Reading it as a bool (true = clean) is a
// host sync; the trainer instead hands the flag to the optimizer, which skips on the device.
struct UnscaleResult {
  at::Tensor found_inf;
  explicit operator bool() const;
};

class LossScaler {
 public:
  // Scaling is active for fp16 (which autocast allows on CUDA only; the ATen kernels also run on CPU,
  // where the tests exercise them). The non-finite check runs in every mode: it is the trainer's guard
  // against non-finite losses and gradients.
  LossScaler(const AmpOptions& options, c10::Device device);
  bool active() const { return active_; }
  at::Tensor scale(const at::Tensor& loss) const;
  // Divides the gradients by the scale (fp16) and checks them for inf/NaN in the same pass.
  UnscaleResult unscale(const std::vector<at::Tensor>& parameters);
  void update();  // after every unscale(): halves on overflow, grows after clean steps (fp16)
  double current() const;
  // For checkpoints.
  std::vector<double> state() const;  // {scale, clean steps}
  void set_state(const std::vector<double>& state);

 private:
  bool active_ = false;
  int64_t growth_interval_ = 2000;
  at::Tensor scale_;           // float32 [1] on the device (fp16 only)
  at::Tensor growth_tracker_;  // int32 [1] (fp16 only)
  at::Tensor found_inf_;       // float32 [1]
  at::Tensor one_;             // float32 [1]: the inverse scale of the check without scaling
};

}  // namespace loom

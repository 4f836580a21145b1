#include "train/mixed_precision.h"

#include <ATen/autocast_mode.h>
#include <ATen/ops/_amp_foreach_non_finite_check_and_unscale.h>
#include <ATen/ops/_amp_update_scale.h>
#include <ATen/ops/full.h>
#include <ATen/ops/zeros.h>

#include "core/config/config_error.h"

namespace loom {

namespace {
c10::ScalarType amp_dtype(const AmpOptions& o) { return o.dtype == "fp16" ? at::kHalf : at::kBFloat16; }
}  // namespace

AutocastScope::AutocastScope(c10::DeviceType device, const AmpOptions& options) : device_(device) {
  if (!options.enabled) return;
  if (device == c10::DeviceType::CPU && options.dtype == "fp16")
    throw ConfigError("train.amp.dtype: fp16 autocast needs CUDA; use bf16 on CPU");
  active_ = true;
  was_enabled_ = at::autocast::is_autocast_enabled(device);
  was_dtype_ = at::autocast::get_autocast_dtype(device);
  at::autocast::set_autocast_enabled(device, true);
  at::autocast::set_autocast_dtype(device, amp_dtype(options));
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  // Casts cached inside the region hold weights alive; drop them when the outermost region ends.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  at::autocast::set_autocast_enabled(device_, was_enabled_);
  at::autocast::set_autocast_dtype(device_, was_dtype_);
}

LossScaler::LossScaler(const AmpOptions& options, c10::Device device)
    : active_(options.enabled && options.dtype == "fp16"), growth_interval_(options.growth_interval) {
  if (!active_) return;
  auto f32 = at::TensorOptions().dtype(at::kFloat).device(device);
  scale_ = at::full({1}, options.init_scale, f32);
  growth_tracker_ = at::zeros({1}, f32.dtype(at::kInt));
  found_inf_ = at::zeros({1}, f32);
}

at::Tensor LossScaler::scale(const at::Tensor& loss) const { return active_ ? loss * scale_ : loss; }

bool LossScaler::unscale(const std::vector<at::Tensor>& parameters) {
  if (!active_) return true;
  std::vector<at::Tensor> grads;
  for (const auto& p : parameters)
    if (p.grad().defined()) grads.push_back(p.grad());
  found_inf_.zero_();
  at::_amp_foreach_non_finite_check_and_unscale_(grads, found_inf_, scale_.reciprocal());
  return found_inf_.item<float>() == 0.0f;
}

void LossScaler::update() {
  if (!active_) return;
  at::_amp_update_scale_(scale_, growth_tracker_, found_inf_, 2.0, 0.5, growth_interval_);
}

double LossScaler::current() const { return active_ ? scale_.item<double>() : 1.0; }

std::vector<double> LossScaler::state() const {
  if (!active_) return {};
  return {scale_.item<double>(), static_cast<double>(growth_tracker_.item<int>())};
}

void LossScaler::set_state(const std::vector<double>& state) {
  if (!active_ || state.size() != 2) return;
  scale_.fill_(state[0]);
  growth_tracker_.fill_(static_cast<int>(state[1]));
}

}  // namespace loom

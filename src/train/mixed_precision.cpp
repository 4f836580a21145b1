#include "train/mixed_precision.h"

#include <ATen/autocast_mode.h>
#include <ATen/ops/_amp_foreach_non_finite_check_and_unscale.h>
#include <ATen/ops/_amp_update_scale.h>
#include <ATen/ops/full.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/zeros.h>
#include <ATen/ops/zeros_like.h>

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
  auto f32 = at::TensorOptions().dtype(at::kFloat).device(device);
  found_inf_ = at::zeros({1}, f32);
  one_ = at::ones({1}, f32);
  if (!active_) return;
  scale_ = at::full({1}, options.init_scale, f32);
  growth_tracker_ = at::zeros({1}, f32.dtype(at::kInt));
}

UnscaleResult::operator bool() const { return found_inf.item<float>() == 0.0f; }

at::Tensor LossScaler::scale(const at::Tensor& loss) const { return active_ ? loss * scale_ : loss; }

UnscaleResult LossScaler::unscale(const std::vector<at::Tensor>& parameters) {
  std::vector<at::Tensor> grads;
  for (const auto& p : parameters)
    if (p.grad().defined()) grads.push_back(p.grad());
  // A fresh flag per call: the caller may still hold the previous phase's until the step ends.
  found_inf_ = at::zeros_like(found_inf_);
  if (!grads.empty())
    at::_amp_foreach_non_finite_check_and_unscale_(grads, found_inf_, active_ ? scale_.reciprocal() : one_);
  return {found_inf_};
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

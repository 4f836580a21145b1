#include "nn/ada_controller.h"

#include <algorithm>
#include <cmath>

#include <ATen/ops/sign.h>

#include "core/error.h"
#include "core/text/cat.h"

namespace loom::nn {

AdaController::AdaController(const AdaOptions& options) : options_(options) {
  if (options.mode != "ada" && options.mode != "fixed" && options.mode != "off")
    throw UserError(cat("ada mode '", options.mode, "' is not one of ada, fixed, off"));
  if (options.interval < 1) throw UserError(cat("ada interval must be at least 1, got ", options.interval));
  if (!(options.kimg > 0)) throw UserError(cat("ada kimg must be positive, got ", options.kimg));
  if (!(options.initial_p >= 0 && options.initial_p <= 1))
    throw UserError(cat("ada initial_p must be in [0, 1], got ", options.initial_p));
  p_ = options.mode == "off" ? 0.0 : options.initial_p;
}

void AdaController::observe(const at::Tensor& real_logits) {
  if (options_.mode != "ada" || real_logits.numel() == 0) return;
  // Summed where the logits live and read once per update: no device sync per D pass.
  at::Tensor signs = at::sign(real_logits.detach()).sum(at::kDouble);
  pending_ = pending_.defined() ? pending_ + signs : signs;
  count_ += static_cast<double>(real_logits.numel());
}

void AdaController::fold() const {
  if (!pending_.defined()) return;
  sign_sum_ += pending_.item<double>();
  pending_ = at::Tensor();
}

double AdaController::sign_sum() const {
  fold();
  return sign_sum_;
}

bool AdaController::due(int64_t completed_steps) const {
  return options_.mode == "ada" && completed_steps > 0 && completed_steps % options_.interval == 0;
}

void AdaController::update(int64_t batch_images) {
  fold();
  if (options_.mode == "ada" && count_ > 0) {
    last_mean_sign_ = sign_sum_ / count_;
    const double diff = last_mean_sign_ - options_.target;
    const double direction = diff > 0 ? 1.0 : diff < 0 ? -1.0 : 0.0;
    const double step =
        static_cast<double>(batch_images) * static_cast<double>(options_.interval) / (options_.kimg * 1000);
    p_ = std::clamp(p_ + direction * step, 0.0, 1.0);
  }
  sign_sum_ = 0;
  count_ = 0;
}

void AdaController::set_accumulators(double sign_sum, double count) {
  pending_ = at::Tensor();
  sign_sum_ = sign_sum;
  count_ = count;
}

std::map<std::string, double> AdaController::state() const {
  fold();
  return {{"p", p_}, {"sign_sum", sign_sum_}, {"count", count_}, {"last_mean_sign", last_mean_sign_}};
}

void AdaController::restore(const std::map<std::string, double>& state) {
  const auto get = [&](const char* key) {
    const auto it = state.find(key);
    if (it == state.end()) throw UserError(cat("ada controller state lacks '", key, "'"));
    return it->second;
  };
  p_ = options_.mode == "ada" ? get("p") : p_;  // fixed/off: p comes from the options, not the checkpoint
  pending_ = at::Tensor();
  sign_sum_ = get("sign_sum");
  count_ = get("count");
  last_mean_sign_ = get("last_mean_sign");
}

}  // namespace loom::nn

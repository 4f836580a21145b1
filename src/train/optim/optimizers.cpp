#include "train/optim/optimizers.h"

#include <cmath>
#include <memory>

#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>

#include "core/registry/registries.h"
#include "train/optim/fused_adam.h"
#include "train/optim/register.h"

namespace loom {

bool DecayExclusions::excludes(const std::string& name, const at::Tensor& parameter) const {
  if (!decay_1d && parameter.dim() < 2) return true;
  for (const auto& pattern : no_decay)
    if (name.find(pattern) != std::string::npos) return true;
  return false;
}

double lazy_regularization_ratio(int64_t interval) {
  return interval <= 1 ? 1.0 : static_cast<double>(interval) / static_cast<double>(interval + 1);
}

namespace {

// One group with the configured decay, one with none; empty groups are left out.
template <class TorchOptions>
std::vector<torch::optim::OptimizerParamGroup> decay_groups(const NamedParameters& params, const DecayExclusions& rule,
                                                            const TorchOptions& options) {
  std::vector<at::Tensor> decay, no_decay;
  for (const auto& [name, p] : params) (rule.excludes(name, p) ? no_decay : decay).push_back(p);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  if (!decay.empty()) groups.emplace_back(decay, std::make_unique<TorchOptions>(options));
  if (!no_decay.empty()) {
    auto without = std::make_unique<TorchOptions>(options);
    without->weight_decay(0.0);
    groups.emplace_back(no_decay, std::move(without));
  }
  return groups;
}

std::pair<double, double> lazy_betas(const std::vector<double>& betas, double ratio) {
  if (betas.size() != 2) throw ConfigError(cat("optimizer.betas: expected 2 values (beta1, beta2), got ", betas.size()));
  return {std::pow(betas[0], ratio), std::pow(betas[1], ratio)};
}

template <class TorchOptimizer, class TorchOptions>
std::unique_ptr<torch::optim::Optimizer> make_adam(const NamedParameters& params, const ConfigNode& node, double ratio) {
  auto o = read_config<AdamOptions>(node, "optimizer");
  auto [b1, b2] = lazy_betas(o.betas, ratio);
  TorchOptions options(o.lr * ratio);
  options.betas({b1, b2}).eps(o.eps).weight_decay(o.weight_decay);
  return std::make_unique<TorchOptimizer>(decay_groups(params, o.exclusions, options), options);
}

}  // namespace

void register_optimizers() {
  optimizer_registry().add("adam", make_adam<FusedAdam, torch::optim::AdamOptions>, "Adam (L2 weight decay; fused update)");
  optimizer_registry().add("adamw", make_adam<FusedAdamW, torch::optim::AdamWOptions>,
                           "AdamW (decoupled weight decay; fused update)");
  optimizer_registry().add(
      "sgd",
      [](const NamedParameters& params, const ConfigNode& node, double ratio) -> std::unique_ptr<torch::optim::Optimizer> {
        auto o = read_config<SgdOptions>(node, "optimizer");
        torch::optim::SGDOptions options(o.lr * ratio);
        options.momentum(std::pow(o.momentum, ratio)).weight_decay(o.weight_decay).nesterov(o.nesterov);
        return std::make_unique<torch::optim::SGD>(decay_groups(params, o.exclusions, options), options);
      },
      "SGD with momentum (optionally Nesterov)");
}

}  // namespace loom

#include "train/optim/optimizers.h"

#include <cmath>
#include <memory>

#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>

#include "core/log.h"
#include "core/registry/registries.h"
#include "train/optim/fused_adam.h"
#include "train/optim/register.h"

namespace loom {

double lazy_regularization_ratio(int64_t interval) {
  return interval <= 1 ? 1.0 : static_cast<double>(interval) / static_cast<double>(interval + 1);
}

namespace {

// The groups of plan_parameter_groups as torch groups: each a copy of `options` (the section's values,
// lr already times the lazy ratio) with its own lr and weight decay. Printed as a table.
template <class TorchOptions>
std::vector<torch::optim::OptimizerParamGroup> named_groups(const NamedParameters& params,
                                                            const ParamGroupOptions& grouping,
                                                            const DecayExclusions& exclusions,
                                                            const TorchOptions& options, const ConfigNode& node,
                                                            const OptimizerContext& context, const std::string& name) {
  auto plan = plan_parameter_groups(params, grouping, exclusions, options.weight_decay(), node, context.path);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  for (const auto& group : plan) {
    auto own = std::make_unique<TorchOptions>(options);
    own->lr(options.lr() * group.lr_scale);
    own->weight_decay(group.weight_decay);
    groups.emplace_back(group.parameters, std::move(own));
  }
  for (const auto& line : parameter_group_table(plan, options.lr(), cat(context.path, " (", name, ")")))
    LOOM_INFO(line);
  return groups;
}

std::pair<double, double> lazy_betas(const std::vector<double>& betas, double ratio, const ConfigNode& node,
                                     const std::string& path) {
  if (betas.size() != 2) {
    const ConfigNode* at = node.is_map() ? node.find("betas") : nullptr;
    config_detail::fail(at ? *at : node, path + ".betas", cat("expected 2 values (beta1, beta2), got ", betas.size()));
  }
  return {std::pow(betas[0], ratio), std::pow(betas[1], ratio)};
}

template <class TorchOptimizer, class TorchOptions>
std::unique_ptr<torch::optim::Optimizer> make_adam(const NamedParameters& params, const ConfigNode& node,
                                                   const OptimizerContext& context) {
  auto o = read_config<AdamOptions>(node, context.path);
  auto [b1, b2] = lazy_betas(o.betas, context.lazy_ratio, node, context.path);
  TorchOptions options(o.lr * context.lazy_ratio);
  options.betas({b1, b2}).eps(o.eps).weight_decay(o.weight_decay);
  return std::make_unique<TorchOptimizer>(
      named_groups(params, o.grouping, o.exclusions, options, node, context, o.name), options);
}

}  // namespace

void register_optimizers() {
  optimizer_registry().add("adam", make_adam<FusedAdam, torch::optim::AdamOptions>,
                           "Adam (L2 weight decay; fused update)");
  optimizer_registry().add("adamw", make_adam<FusedAdamW, torch::optim::AdamWOptions>,
                           "AdamW (decoupled weight decay; fused update)");
  optimizer_registry().add(
      "sgd",
      [](const NamedParameters& params, const ConfigNode& node,
         const OptimizerContext& context) -> std::unique_ptr<torch::optim::Optimizer> {
        auto o = read_config<SgdOptions>(node, context.path);
        torch::optim::SGDOptions options(o.lr * context.lazy_ratio);
        options.momentum(std::pow(o.momentum, context.lazy_ratio)).weight_decay(o.weight_decay).nesterov(o.nesterov);
        return std::make_unique<torch::optim::SGD>(
            named_groups(params, o.grouping, o.exclusions, options, node, context, o.name), options);
      },
      "SGD with momentum (optionally Nesterov)");
}

}  // namespace loom

#include "train/optim/optimizers.h"

#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>

#include "core/registries.h"
#include "train/optim/register.h"

namespace loom {
namespace {

void check_betas(const std::vector<double>& betas) {
  if (betas.size() != 2) throw ConfigError(cat("optimizer.betas: expected 2 values (beta1, beta2), got ", betas.size()));
}

}  // namespace

void register_optimizers() {
  optimizer_registry().add(
      "adam",
      [](std::vector<torch::optim::OptimizerParamGroup> groups, const ConfigNode& node) -> std::unique_ptr<torch::optim::Optimizer> {
        auto o = read_config<AdamOptions>(node, "optimizer");
        check_betas(o.betas);
        return std::make_unique<torch::optim::Adam>(
            std::move(groups), torch::optim::AdamOptions(o.lr).betas({o.betas[0], o.betas[1]}).eps(o.eps).weight_decay(o.weight_decay));
      },
      "Adam (L2 weight decay)");
  optimizer_registry().add(
      "adamw",
      [](std::vector<torch::optim::OptimizerParamGroup> groups, const ConfigNode& node) -> std::unique_ptr<torch::optim::Optimizer> {
        auto o = read_config<AdamOptions>(node, "optimizer");
        check_betas(o.betas);
        return std::make_unique<torch::optim::AdamW>(
            std::move(groups), torch::optim::AdamWOptions(o.lr).betas({o.betas[0], o.betas[1]}).eps(o.eps).weight_decay(o.weight_decay));
      },
      "AdamW (decoupled weight decay)");
  optimizer_registry().add(
      "sgd",
      [](std::vector<torch::optim::OptimizerParamGroup> groups, const ConfigNode& node) -> std::unique_ptr<torch::optim::Optimizer> {
        auto o = read_config<SgdOptions>(node, "optimizer");
        return std::make_unique<torch::optim::SGD>(
            std::move(groups), torch::optim::SGDOptions(o.lr).momentum(o.momentum).weight_decay(o.weight_decay).nesterov(o.nesterov));
      },
      "SGD with momentum (optionally Nesterov)");
}

}  // namespace loom

#pragma once
// The project's registries, one per kind of component. They are filled by app/register_all.h, the single
// place (in the application layer) that calls every family's registration function. `loom list` prints them.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/config/config_node.h"
#include "core/registry/registry.h"

namespace at {
class Tensor;
}
namespace torch::optim {
class Optimizer;
}  // namespace torch::optim

namespace loom {

class Model;
class Loss;
class Schedule;
class Recipe;
class Metric;
namespace data {
class Dataset;
}  // namespace data

// Every factory takes its options subtree (the config section that named it) and that section's key
// path ("model", "data.val"), which its errors name; it validates the options.
using ModelFactory = std::function<std::shared_ptr<Model>(const ConfigNode& options, const std::string& path)>;
using LossFactory = std::function<std::shared_ptr<Loss>(const ConfigNode& options, const std::string& path)>;
// Where an optimizer is built: its section's path (errors and the group table say "d_optimizer.lr")
// and the lazy-regularisation ratio c of its phase (train/optim/optimizers.h; 1 for phases that run
// every step). Converts from the ratio alone, with the path "optimizer".
struct OptimizerContext {
  OptimizerContext(double lazy_ratio = 1.0, std::string path = "optimizer")
      : lazy_ratio(lazy_ratio), path(std::move(path)) {}
  double lazy_ratio;
  std::string path;
};
// Optimizers get named parameters (for the groups by name, train/optim/param_groups.h).
using OptimizerFactory = std::function<std::unique_ptr<torch::optim::Optimizer>(
    const std::vector<std::pair<std::string, at::Tensor>>& parameters, const ConfigNode& options,
    const OptimizerContext& context)>;
using ScheduleFactory = std::function<std::shared_ptr<Schedule>(const ConfigNode& options, const std::string& path)>;
using RecipeFactory = std::function<std::shared_ptr<Recipe>(const ConfigNode& config)>;
using DatasetFactory =
    std::function<std::shared_ptr<data::Dataset>(const ConfigNode& options, const std::string& path)>;
using MetricFactory = std::function<std::shared_ptr<Metric>(const ConfigNode& options, const std::string& path)>;

Registry<ModelFactory>& model_registry();
Registry<LossFactory>& loss_registry();
Registry<OptimizerFactory>& optimizer_registry();
Registry<ScheduleFactory>& schedule_registry();
Registry<RecipeFactory>& recipe_registry();
Registry<DatasetFactory>& dataset_registry();
Registry<MetricFactory>& metric_registry();

// All registries, in the order `loom list` prints them.
std::vector<const RegistryBase*> all_registries();

// The `name` key of a section, validated against a registry; errors carry the section's origin.
std::string registered_name(const RegistryBase& registry, const ConfigNode& section, const std::string& path);

}  // namespace loom

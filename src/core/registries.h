#pragma once
// The project's registries, one per kind of component, and register_all(), the single place that calls
// every family's explicit registration function. `loom list` prints them all.
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "core/config_node.h"
#include "core/registry.h"

namespace torch::optim {
class Optimizer;
class OptimizerParamGroup;
}  // namespace torch::optim

namespace loom {

class Model;
class Loss;
class Schedule;
class Recipe;
class Dataset;
class Metric;

// Every factory takes its options subtree (the config section that named it) and validates it.
using ModelFactory = std::function<std::shared_ptr<Model>(const ConfigNode& options)>;
using LossFactory = std::function<std::shared_ptr<Loss>(const ConfigNode& options)>;
using OptimizerFactory = std::function<std::unique_ptr<torch::optim::Optimizer>(
    std::vector<torch::optim::OptimizerParamGroup> groups, const ConfigNode& options)>;
using ScheduleFactory = std::function<std::shared_ptr<Schedule>(const ConfigNode& options)>;
using RecipeFactory = std::function<std::shared_ptr<Recipe>(const ConfigNode& config)>;
using DatasetFactory = std::function<std::shared_ptr<Dataset>(const ConfigNode& options)>;
using MetricFactory = std::function<std::shared_ptr<Metric>(const ConfigNode& options)>;

Registry<ModelFactory>& model_registry();
Registry<LossFactory>& loss_registry();
Registry<OptimizerFactory>& optimizer_registry();
Registry<ScheduleFactory>& schedule_registry();
Registry<RecipeFactory>& recipe_registry();
Registry<DatasetFactory>& dataset_registry();
Registry<MetricFactory>& metric_registry();

// All registries, in the order `loom list` prints them.
std::vector<const RegistryBase*> all_registries();

// Registers every family once (idempotent).
void register_all();

// The `name` key of a section, validated against a registry; errors carry the section's origin.
std::string registered_name(const RegistryBase& registry, const ConfigNode& section, const std::string& path);

}  // namespace loom

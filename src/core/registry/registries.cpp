#include "core/registry/registries.h"

#include <algorithm>

#include "core/config/config_schema.h"

namespace loom {

Registry<ModelFactory>& model_registry() {
  static Registry<ModelFactory> r("models");
  return r;
}
Registry<LossFactory>& loss_registry() {
  static Registry<LossFactory> r("losses");
  return r;
}
Registry<OptimizerFactory>& optimizer_registry() {
  static Registry<OptimizerFactory> r("optimizers");
  return r;
}
Registry<ScheduleFactory>& schedule_registry() {
  static Registry<ScheduleFactory> r("schedules");
  return r;
}
Registry<RecipeFactory>& recipe_registry() {
  static Registry<RecipeFactory> r("recipes");
  return r;
}
Registry<DatasetFactory>& dataset_registry() {
  static Registry<DatasetFactory> r("datasets");
  return r;
}
Registry<MetricFactory>& metric_registry() {
  static Registry<MetricFactory> r("metrics");
  return r;
}

std::vector<const RegistryBase*> all_registries() {
  return {&model_registry(),     &recipe_registry(),   &dataset_registry(), &loss_registry(),
          &optimizer_registry(), &schedule_registry(), &metric_registry()};
}

std::string registered_name(const RegistryBase& registry, const ConfigNode& section, const std::string& path) {
  const ConfigNode* name = section.is_map() ? section.find("name") : nullptr;
  if (!name) config_detail::fail(section, path + ".name", "missing required value");
  std::string value;
  config_detail::ConfigReader::convert(*name, path + ".name", value, {});
  std::vector<std::string> names;
  for (const auto& [n, help] : registry.list()) names.push_back(n);
  if (names.empty()) config_detail::fail(*name, path + ".name", cat("no ", registry.kind(), " are registered"));
  config_detail::check_choice(*name, path + ".name", value, FieldSpec{.choices = names});
  return value;
}

}  // namespace loom

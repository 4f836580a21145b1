#include "train/components.h"

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include "core/config/config_error.h"
#include "core/registry/registries.h"
#include "data/dataset.h"
#include "models/model.h"
#include "train/ema.h"
#include "train/optim/schedules.h"

namespace loom {

std::shared_ptr<const data::Dataset> make_dataset(const ConfigNode& section, const std::string& path) {
  return dataset_registry().get(registered_name(dataset_registry(), section, path))(section);
}

std::shared_ptr<Model> make_model(const ConfigNode& section, const std::string& path) {
  return model_registry().get(registered_name(model_registry(), section, path))(section);
}

std::shared_ptr<torch::optim::Optimizer> make_optimizer(const NamedParameters& parameters, const ConfigNode& section,
                                                        const std::string& path, int64_t interval) {
  const auto& factory = optimizer_registry().get(registered_name(optimizer_registry(), section, path));
  return factory(parameters, section, lazy_regularization_ratio(interval));
}

std::shared_ptr<Schedule> make_schedule(const ConfigNode* section, const std::string& path) {
  if (!section || section->is_null()) return nullptr;
  return schedule_registry().get(registered_name(schedule_registry(), *section, path))(*section);
}

void add_model(TrainSetup& setup, const std::shared_ptr<torch::nn::Module>& model, const std::shared_ptr<torch::nn::Module>& ema,
               c10::Device device) {
  model->to(device);
  setup.modules["model"] = model;
  if (!ema) return;
  ema->to(device);
  ema_update(*ema, *model, 0.0);
  setup.ema["model"] = EmaPair{model, ema};
}

void add_main_phase(TrainSetup& setup, torch::nn::Module& model, const ConfigNode& optimizer, const ConfigNode& schedule,
                    std::function<LossOutput(const data::Batch&, const StepInfo&)> loss) {
  setup.optimizers["main"] = OptimizerSlot{make_optimizer(named_parameters(model), optimizer, "optimizer"),
                                           make_schedule(&schedule, "schedule")};
  setup.phases.push_back(Phase{"main", model.parameters(), "main", 1, std::move(loss)});
}

data::LoaderOptions evaluation_loader_options(int64_t batch_size, int64_t workers) {
  data::LoaderOptions options;
  options.batch_size = batch_size;
  options.workers = workers;
  options.shuffle = false;
  options.drop_last = false;
  options.repeat = false;
  return options;
}

NamedParameters named_parameters(const torch::nn::Module& module) {
  NamedParameters out;
  for (const auto& item : module.named_parameters()) out.emplace_back(item.key(), item.value());
  return out;
}

const ConfigNode& required_section(const ConfigNode& config, const std::string& key) {
  const ConfigNode* section = config.find(key);
  if (!section) throw ConfigError(cat("the config has no '", key, "' section"));
  return *section;
}

}  // namespace loom

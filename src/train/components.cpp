#include "train/components.h"

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include <ATen/ops/cat.h>

#include <algorithm>
#include <cstdio>
#include <stdexcept>

#include "core/config/config_error.h"
#include "core/error.h"
#include "core/registry/registries.h"
#include "core/text/cat.h"
#include "data/dataset.h"
#include "data/image_io.h"
#include "eval/metrics/feature_extractor.h"
#include "losses/loss.h"
#include "models/model.h"
#include "train/ema.h"
#include "train/optim/schedules.h"

namespace loom {

RecipeSections::RecipeSections(const ConfigNode& config, const std::vector<RecipeSection>& declared) {
  std::vector<RecipeSection> all{{"recipe", true}};
  all.insert(all.end(), declared.begin(), declared.end());
  for (const auto& [key, required] : all) {
    if (key != "recipe") keys_.push_back(key);
    if (const ConfigNode* section = config.find(key))
      present_.emplace(key, *section);
    else if (required)
      throw ConfigError(cat("the config has no '", key, "' section"));
  }
}

const ConfigNode* RecipeSections::find(const std::string& key) const {
  if (key != "recipe" && std::find(keys_.begin(), keys_.end(), key) == keys_.end())
    throw std::logic_error(cat("recipe section '", key, "' is read but not declared"));
  auto it = present_.find(key);
  return it == present_.end() ? nullptr : &it->second;
}

const ConfigNode& RecipeSections::at(const std::string& key) const {
  static const ConfigNode absent;
  const ConfigNode* section = find(key);
  return section ? *section : absent;
}

std::vector<std::string> RecipeSections::keys() const { return keys_; }

std::shared_ptr<const data::Dataset> make_dataset(const ConfigNode& section, const std::string& path) {
  return dataset_registry().get(registered_name(dataset_registry(), section, path))(section, path);
}

std::shared_ptr<Model> make_model(const ConfigNode& section, const std::string& path) {
  return model_registry().get(registered_name(model_registry(), section, path))(section, path);
}

std::shared_ptr<Loss> make_loss(const ConfigNode& section, const std::string& path) {
  return loss_registry().get(registered_name(loss_registry(), section, path))(section, path);
}

std::shared_ptr<torch::optim::Optimizer> make_optimizer(const NamedParameters& parameters, const ConfigNode& section,
                                                        const std::string& path, int64_t interval) {
  const auto& factory = optimizer_registry().get(registered_name(optimizer_registry(), section, path));
  return factory(parameters, section, OptimizerContext(lazy_regularization_ratio(interval), path));
}

std::shared_ptr<Schedule> make_schedule(const ConfigNode* section, const std::string& path) {
  if (!section || section->is_null()) return nullptr;
  return schedule_registry().get(registered_name(schedule_registry(), *section, path))(*section, path);
}

void add_model(TrainSetup& setup, const std::shared_ptr<torch::nn::Module>& model,
               const std::shared_ptr<torch::nn::Module>& ema, c10::Device device) {
  model->to(device);
  setup.modules["model"] = model;
  if (!ema) return;
  ema->to(device);
  ema_update(*ema, *model, 0.0);
  setup.ema["model"] = EmaPair{model, ema};
}

void add_main_phase(TrainSetup& setup, torch::nn::Module& model, const ConfigNode& optimizer,
                    const ConfigNode& schedule, std::function<LossOutput(const data::Batch&, const StepInfo&)> loss) {
  setup.optimizers["main"] = OptimizerSlot{make_optimizer(named_parameters(model), optimizer, "optimizer"),
                                           make_schedule(&schedule, "schedule")};
  setup.phases.push_back(Phase{"main", model.parameters(), "main", 1, std::move(loss)});
}

at::Tensor dataset_image_features(std::shared_ptr<const data::Dataset> dataset, const eval::EvalPass& pass,
                                  c10::Device device, eval::FeatureExtractor& extractor, const std::string& what) {
  std::vector<at::Tensor> features;
  eval::for_each_eval_batch(std::move(dataset), pass, device, [&](const data::Batch& batch) {
    features.push_back(extractor.features(batch.at("image")));
  });
  if (features.empty()) throw UserError(cat(what, ": the dataset gave no images"));
  return at::cat(features);
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

at::Tensor gan_real_images(const data::Batch& batch, bool& checked, const std::string& recipe) {
  const at::Tensor& image = batch.at("image");
  if (!checked) {
    const double low = image.min().item<double>(), high = image.max().item<double>();
    if (low < -1e-3 || high > 1 + 1e-3)
      throw UserError(cat(recipe, ": training images must be in [0, 1] (got ", low, " .. ", high,
                          "): remove the normalize transform from data.train"));
    checked = true;
  }
  return image * 2 - 1;
}

void write_sample_grid(const EvalContext& context, const std::string& name, const at::Tensor& grid) {
  if (!context.samples_dir.empty()) {
    char step[16];
    std::snprintf(step, sizeof step, "%09lld", static_cast<long long>(context.step));
    data::write_png((context.samples_dir / cat(name, "-", step, ".png")).string(), grid);
  }
  if (context.metrics) context.metrics->add_image("samples/" + name, grid, context.step);
}

}  // namespace loom

#pragma once
// Building registered components from config sections: what every recipe does in setup().
#include <memory>
#include <string>

#include "core/config/config_node.h"
#include "data/loader.h"
#include "train/optim/optimizers.h"
#include "train/recipe.h"

namespace loom {

class Model;

// `section` is the config subtree at `path` (e.g. "data.train"), holding `name` and the options.
std::shared_ptr<const data::Dataset> make_dataset(const ConfigNode& section, const std::string& path);
std::shared_ptr<Model> make_model(const ConfigNode& section, const std::string& path);
// `interval` > 1 applies the lazy-regularisation adjustment (train/optim/optimizers.h).
std::shared_ptr<torch::optim::Optimizer> make_optimizer(const NamedParameters& parameters, const ConfigNode& section,
                                                        const std::string& path, int64_t interval = 1);
// A null or absent section means a constant learning rate (nullptr).
std::shared_ptr<Schedule> make_schedule(const ConfigNode* section, const std::string& path);

// Puts `model` on `device` as the setup's module "model"; a non-null `ema` (a second instance of the
// same model) goes there too, starts as a copy and becomes the EMA "model".
void add_model(TrainSetup& setup, const std::shared_ptr<torch::nn::Module>& model, const std::shared_ptr<torch::nn::Module>& ema,
               c10::Device device);

// Metrics of evaluate(model, "val") and, when there is an EMA copy, evaluate(*ema, "val_ema").
template <class M, class Evaluate>
Scalars with_ema_metrics(M& model, M* ema, Evaluate evaluate) {
  Scalars out = evaluate(model, "val");
  if (ema) {
    Scalars more = evaluate(*ema, "val_ema");
    out.insert(out.end(), more.begin(), more.end());
  }
  return out;
}

// The usual single-phase setup: phase "main" trains every parameter of `model` with the optimizer and
// schedule sections of the config (slot "main"; a null schedule section means a constant lr).
void add_main_phase(TrainSetup& setup, torch::nn::Module& model, const ConfigNode& optimizer, const ConfigNode& schedule,
                    std::function<LossOutput(const data::Batch&, const StepInfo&)> loss);

// Loader options for one in-order pass over an evaluation set (every sample, last batch kept).
data::LoaderOptions evaluation_loader_options(int64_t batch_size, int64_t workers);

// The named parameters of a module, for make_optimizer.
NamedParameters named_parameters(const torch::nn::Module& module);

// Top-level section `key` of the config; a ConfigError naming it when absent.
const ConfigNode& required_section(const ConfigNode& config, const std::string& key);

}  // namespace loom

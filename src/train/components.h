#pragma once
// Building registered components from config sections: what every recipe does in setup().
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/config/config_node.h"
#include "core/config/config_schema.h"
#include "data/loader.h"
#include "eval/eval_pass.h"
#include "train/optim/optimizers.h"
#include "train/recipe.h"

namespace loom {
namespace eval {
class FeatureExtractor;
}

class Loss;
class Model;

// The top-level config sections a recipe reads, declared once: its constructor reads them from here
// and its sections() answers from here (keys()). `recipe` is always one of them.
struct RecipeSection {
  std::string key;
  bool required = true;
};

class RecipeSections {
 public:
  // ConfigError naming a required section that is absent.
  RecipeSections(const ConfigNode& config, const std::vector<RecipeSection>& declared);
  // A declared section; null when an optional one is absent.
  const ConfigNode* find(const std::string& key) const;
  // A declared section; an empty (null) node when an optional one is absent.
  const ConfigNode& at(const std::string& key) const;
  // Options read from a declared section under its key; the defaults when an optional one is absent.
  template <class T>
  T read(const std::string& key) const {
    const ConfigNode* section = find(key);
    return section ? read_config<T>(*section, key) : T{};
  }
  // The declared keys but `recipe`: the answer to Recipe::sections().
  std::vector<std::string> keys() const;

 private:
  std::vector<std::string> keys_;
  std::map<std::string, ConfigNode> present_;
};

// `section` is the config subtree at `path` (e.g. "data.train"), holding `name` and the options.
std::shared_ptr<const data::Dataset> make_dataset(const ConfigNode& section, const std::string& path);
std::shared_ptr<Model> make_model(const ConfigNode& section, const std::string& path);
std::shared_ptr<Loss> make_loss(const ConfigNode& section, const std::string& path);
// The model as the class a recipe needs; a ConfigError at `<path>.name` saying `what` when it is another.
template <class T>
std::shared_ptr<T> make_model(const ConfigNode& section, const std::string& path, const std::string& what) {
  auto model = std::dynamic_pointer_cast<T>(make_model(section, path));
  if (!model) fail_config(section.find("name") ? *section.find("name") : section, path + ".name", what);
  return model;
}
// `interval` > 1 applies the lazy-regularisation adjustment (train/optim/optimizers.h).
std::shared_ptr<torch::optim::Optimizer> make_optimizer(const NamedParameters& parameters, const ConfigNode& section,
                                                        const std::string& path, int64_t interval = 1);
// A null or absent section means a constant learning rate (nullptr).
std::shared_ptr<Schedule> make_schedule(const ConfigNode* section, const std::string& path);

// Puts `model` on `device` as the setup's module "model"; a non-null `ema` (a second instance of the
// same model) goes there too, starts as a copy and becomes the EMA "model".
void add_model(TrainSetup& setup, const std::shared_ptr<torch::nn::Module>& model,
               const std::shared_ptr<torch::nn::Module>& ema, c10::Device device);

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
void add_main_phase(TrainSetup& setup, torch::nn::Module& model, const ConfigNode& optimizer,
                    const ConfigNode& schedule, std::function<LossOutput(const data::Batch&, const StepInfo&)> loss);

// Features of the images (tensor "image", [0, 1]) of one such pass, [N, dim] on the CPU; UserError
// naming `what` when the dataset gives none.
at::Tensor dataset_image_features(std::shared_ptr<const data::Dataset> dataset, const eval::EvalPass& pass,
                                  c10::Device device, eval::FeatureExtractor& extractor, const std::string& what);

// A GAN's real images: data.train's [0, 1] images as the generator's [-1, 1]. The range is checked on
// the first batch only (`checked` remembers it; one host read): a normalize transform in data.train
// would silently shift them twice. UserError naming `recipe` otherwise.
at::Tensor gan_real_images(const data::Batch& batch, bool& checked, const std::string& recipe);

// A sample grid at `step`: written as <samples_dir>/<name>-<step, 9 digits>.png and to TensorBoard as
// samples/<name> (where the context has them).
void write_sample_grid(const EvalContext& context, const std::string& name, const at::Tensor& grid);

// The named parameters of a module, for make_optimizer.
NamedParameters named_parameters(const torch::nn::Module& module);

// Top-level section `key` of the config; a ConfigError naming it when absent.
const ConfigNode& required_section(const ConfigNode& config, const std::string& key);

}  // namespace loom

#include "app/cli_commands.h"

#include "app/image_text_commands.h"

#include <cstdio>
#include <iomanip>
#include <iostream>
#include <map>

#include "core/config/config_loader.h"
#include "core/registry/registries.h"
#include "core/text/with_commas.h"
#include "models/model.h"
#include "models/model_metadata.h"
#include "train/run_config.h"
#include "train/trainer.h"

namespace loom::cli {

namespace {

// A config that names a recipe is checked as `loom train` checks it (without a device, process group or
// run folder); one without is a fragment (a model file that configs include through _base_).
ConfigNode load_checked(const std::string& path, const std::vector<std::string>& overrides) {
  ConfigNode config = load_config(path, overrides);
  if (config.find("recipe")) check_run_config(config);
  return config;
}

}  // namespace

int print_config(const std::string& path, const std::vector<std::string>& overrides) {
  const ConfigNode config = load_checked(path, overrides);  // before any output: an error prints alone
  std::cout << "# resolved from " << path << "\n" << to_yaml(config);
  return 0;
}

int list_registries() {
  for (const RegistryBase* registry : all_registries()) {
    std::cout << registry->kind() << ":\n";
    auto entries = registry->list();
    if (entries.empty()) std::cout << "  (none registered yet)\n";
    for (const auto& [name, help] : entries) std::cout << "  " << std::left << std::setw(22) << name << help << "\n";
  }
  return 0;
}

int model_info(const std::string& path, const std::vector<std::string>& overrides) {
  ConfigNode config = load_checked(path, overrides);
  const ConfigNode* section = config.find("model");
  if (!section) throw ConfigError(cat(path, ": no 'model' section to describe"));
  std::string name = registered_name(model_registry(), *section, "model");
  std::shared_ptr<Model> model = model_registry().get(name)(*section, "model");

  std::map<std::string, int64_t> macs;
  for (const auto& [module, count] : model->multiply_accumulates()) macs[module] += count;
  // Mult-adds of a row: the entries named after it or after its submodules.
  auto macs_of = [&](const std::string& key) {
    int64_t m = 0;
    for (const auto& [name, count] : macs)
      if (name == key || name.starts_with(key + ".")) m += count;
    return m;
  };
  auto row = [](const std::string& name, int64_t params, const std::string& mult_adds) {
    std::cout << std::left << std::setw(24) << name << std::right << std::setw(16) << with_commas(params)
              << std::setw(20) << mult_adds << "\n";
  };
  auto parameter_count = [](const torch::nn::Module& m) {
    int64_t n = 0;
    for (const auto& p : m.parameters()) n += p.numel();
    return n;
  };
  int64_t total_params = 0, total_macs = 0;
  std::cout << "model: " << name << "\n"
            << std::left << std::setw(24) << "module" << std::right << std::setw(16) << "parameters" << std::setw(20)
            << "mult-adds"
            << "\n";
  for (const auto& child : model->named_children()) {
    const int64_t params = parameter_count(*child.value()), m = macs_of(child.key());
    total_params += params;
    total_macs += m;
    row(child.key(), params, with_commas(m));
    if (model->info_depth() < 2) continue;
    for (const auto& grandchild : child.value()->named_children()) {
      const std::string key = child.key() + "." + grandchild.key();
      row("  " + key, parameter_count(*grandchild.value()), macs.count(key) ? with_commas(macs[key]) : "-");
    }
  }
  for (const auto& p : model->named_parameters(/*recurse=*/false)) {  // parameters owned by the model itself
    total_params += p.value().numel();
    row(p.key(), p.value().numel(), "-");
  }
  row("total", total_params, with_commas(total_macs));
  for (const auto& note : model->info_notes()) std::cout << note << "\n";
  return 0;
}

int train(const std::string& path, const std::vector<std::string>& overrides) {
  TrainResult result = loom::train(load_config(path, overrides), path);
  const RunDirectory& run = result.run;
  std::cout << (result.interrupted ? "interrupted" : "finished") << " after " << result.steps << " steps\n";
  for (const auto& [name, value] : result.final_metrics) std::cout << "  " << name << " = " << value << "\n";
  if (result.bad_samples) std::cout << "  unreadable samples skipped: " << result.bad_samples << "\n";
  if (result.nan_skipped) std::cout << "  steps skipped for non-finite losses: " << result.nan_skipped << "\n";
  std::cout << "run folder:   " << run.dir.string() << "\n"
            << "  config:       " << run.config().string() << "\n"
            << "  log:          " << run.log().string() << "\n"
            << "  metrics:      " << run.metrics().string() << "\n"
            << "  tensorboard:  " << run.tensorboard().string() << "  (tensorboard --logdir "
            << run.tensorboard().string() << ")\n"
            << "  checkpoint:   " << result.last_checkpoint.string() << "\n";
  if (result.interrupted)
    std::cout << "continue with: loom train " << path << " output.id=" << run.dir.filename().string()
              << " resume=auto\n";
  return 0;
}

int evaluate(const std::string& path, const std::vector<std::string>& overrides) {
  std::vector<std::string> rest;
  std::string checkpoint, device;
  for (const auto& o : overrides) {
    if (o.starts_with("ckpt="))
      checkpoint = o.substr(5);
    else if (o.starts_with("device="))
      device = o.substr(7);
    else
      rest.push_back(o);
  }
  if (checkpoint.empty())
    throw UserError("loom eval needs ckpt=PATH (a checkpoint folder, a run folder or a weight file)");
  if (!device.empty()) rest.push_back("train.device=" + device);
  ConfigNode config = load_config(path, rest);
  // A config without a recipe is a model: evaluated on the eval section's benchmarks, no training keys.
  if (!config.find("recipe")) {
    if (!device.empty()) rest.pop_back();
    return evaluate_image_text(load_config(path, rest), checkpoint, device.empty() ? "auto" : device);
  }
  // The model section the weights were made with completes the config's, and refuses a contradiction.
  if (const ConfigNode* model = config.find("model"))
    if (auto recorded = read_model_section(checkpoint))
      config.set("model", reconcile_model_section(*model, "model", *recorded, checkpoint));
  Scalars metrics = loom::evaluate(config, checkpoint);
  if (metrics.empty()) std::cout << "(the recipe reported no metrics: is an evaluation dataset configured?)\n";
  for (const auto& [name, value] : metrics) std::cout << name << " = " << value << "\n";
  return 0;
}

}  // namespace loom::cli

#include "app/export_weights.h"

#include <filesystem>
#include <iostream>
#include <map>
#include <set>

#include "app/named_arguments.h"
#include "core/error.h"
#include "core/io/checkpoint.h"
#include "core/io/weights.h"
#include "core/text/cat.h"
#include "core/text/join.h"
#include "models/model_metadata.h"

namespace loom::cli {
namespace {

// How the trainer names module and EMA tensors in a checkpoint (train/training_state.h).
constexpr const char* kModulePrefix = "module.";
constexpr const char* kEmaPrefix = "ema.";

// "G" → "module.G.", "ema.G" → "ema.G.".
std::string checkpoint_prefix(const std::string& module) {
  return module.starts_with(kEmaPrefix) ? cat(module, ".") : cat(kModulePrefix, module, ".");
}

// Several modules in one file: ema.G → "G_ema." (NVlabs' name), G → "G.".
std::string file_prefix(const std::string& module) {
  return module.starts_with(kEmaPrefix) ? cat(module.substr(4), "_ema.") : cat(module, ".");
}

// The modules a checkpoint holds, as module= names them ("D", "G", "ema.G").
std::set<std::string> modules_in(const weights::NamedTensors& tensors) {
  std::set<std::string> names;
  for (const auto& [key, tensor] : tensors)
    for (const std::string prefix : {kModulePrefix, kEmaPrefix})
      if (key.starts_with(prefix) && key.find('.', prefix.size()) != std::string::npos) {
        const std::string name = key.substr(prefix.size(), key.find('.', prefix.size()) - prefix.size());
        names.insert(prefix == kEmaPrefix ? cat(kEmaPrefix, name) : name);
      }
  return names;
}

std::vector<std::string> pick_modules(const std::string& requested, const std::set<std::string>& available,
                                      const std::string& checkpoint) {
  std::vector<std::string> picked;
  if (requested.empty()) {
    std::vector<std::string> emas, trained;
    for (const auto& name : available) (name.starts_with(kEmaPrefix) ? emas : trained).push_back(name);
    if (emas.size() == 1) return emas;
    if (emas.empty() && trained.size() == 1) return trained;
    throw UserError(cat("loom export-weights: ", checkpoint, " holds the modules ", join(available, ", "),
                        "; name the ones to export with module=NAME[,NAME...]"));
  }
  for (size_t start = 0; start <= requested.size();) {
    const size_t comma = std::min(requested.find(',', start), requested.size());
    const std::string name = requested.substr(start, comma - start);
    if (!available.count(name))
      throw UserError(cat("loom export-weights: module=", name, ": ", checkpoint, " holds ", join(available, ", ")));
    picked.push_back(name);
    start = comma + 1;
  }
  return picked;
}

}  // namespace

int export_weights(const std::string& checkpoint, const std::vector<std::string>& arguments) {
  std::map<std::string, std::string> values =
      named_arguments(arguments, {"out", "module", "section"}, "loom export-weights");
  values.emplace("section", "model");
  const std::string& out = values["out"];
  if (std::filesystem::path(out).extension() != ".safetensors")
    throw UserError("loom export-weights needs out=FILE.safetensors (the format that holds metadata)");

  const LoadedCheckpoint loaded = CheckpointStore::load(checkpoint);
  const std::string where = loaded.path.string();
  const std::optional<ConfigNode> section = model_section_of_checkpoint(loaded, values["section"]);
  if (!section)
    throw UserError(cat("loom export-weights: the config of ", where, " has no '", values["section"],
                        "' section; name the one that describes the modules with section=KEY"));
  const std::vector<std::string> modules = pick_modules(values["module"], modules_in(loaded.contents.tensors), where);

  weights::NamedTensors tensors;
  for (const auto& module : modules) {
    const std::string from = checkpoint_prefix(module), to = modules.size() > 1 ? file_prefix(module) : "";
    for (const auto& [key, tensor] : loaded.contents.tensors)
      if (key.starts_with(from)) tensors.emplace_back(to + key.substr(from.size()), tensor);
  }
  weights::Metadata metadata = model_metadata(*section);
  metadata["loom.exported_from"] = cat(where, " (step ", loaded.step, ", ", join(modules, ", "), ")");
  weights::write(out, tensors, metadata);
  std::cout << "wrote " << tensors.size() << " tensors of " << join(modules, ", ") << " from " << where << " (step "
            << loaded.step << ") to " << out << ", with the model section\n"
            << metadata.at(kModelMetadataKey);
  return 0;
}

}  // namespace loom::cli

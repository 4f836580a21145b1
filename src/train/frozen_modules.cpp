#include "train/frozen_modules.h"

#include <cstdio>
#include <filesystem>
#include <set>
#include <stdexcept>

#include <c10/core/GradMode.h>
#include <torch/nn/module.h>

#include "core/error.h"
#include "core/io/crc32c.h"
#include "core/io/weights.h"
#include "core/log.h"
#include "core/text/cat.h"

namespace loom {

namespace {

void make_frozen(torch::nn::Module& module) {
  module.eval();
  for (auto& p : module.parameters()) p.requires_grad_(false);
}

std::string content_hash(const torch::nn::Module& module) {
  uint32_t crc = 0;
  for (const auto& [name, tensor] : weights::state_dict(module)) {
    crc = crc32c_extend(crc, name.data(), name.size());
    at::Tensor host = tensor.detach().to(c10::kCPU).contiguous();
    crc = crc32c_extend(crc, host.data_ptr(), host.nbytes());
  }
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", crc);
  return hex;
}

}  // namespace

FrozenModule freeze_module(std::shared_ptr<torch::nn::Module> module, const std::string& weight_file,
                           c10::Device device, const std::string& key) {
  if (!weight_file.empty()) {
    const std::string where = key.empty() ? weight_file : cat(key, ": ", weight_file);
    if (!std::filesystem::exists(weight_file))
      throw UserError(cat(where, ": weight file of a frozen module not found"));
    try {
      LOOM_INFO("frozen ", key.empty() ? module->name() : key, ": ",
                weights::load_file(*module, weight_file).summary());
    } catch (const UserError& e) {
      throw UserError(cat(key.empty() ? "" : cat(key, ": "), e.what()));
    }
  }
  module->to(device);
  make_frozen(*module);
  return FrozenModule{std::move(module), weight_file};
}

void enforce_frozen(TrainSetup& setup) {
  std::set<const void*> frozen;
  for (auto& [name, entry] : setup.frozen) {
    if (!entry.module) throw std::logic_error(cat("frozen module '", name, "' is null"));
    if (setup.modules.count(name))
      throw std::logic_error(cat("module '", name, "' is both trained (modules) and frozen"));
    make_frozen(*entry.module);
    for (const auto& p : entry.module->parameters()) frozen.insert(p.unsafeGetTensorImpl());
  }
  for (const auto& phase : setup.phases)
    for (const auto& p : phase.parameters)
      if (frozen.count(p.unsafeGetTensorImpl()))
        throw std::logic_error(cat("phase '", phase.name, "' trains a parameter of a frozen module"));
}

std::map<std::string, FrozenRecord> frozen_records(const TrainSetup& setup) {
  std::map<std::string, FrozenRecord> out;
  for (const auto& [name, entry] : setup.frozen) out[name] = {entry.source, content_hash(*entry.module)};
  return out;
}

void check_frozen_records(const std::map<std::string, FrozenRecord>& current,
                          const std::map<std::string, FrozenRecord>& recorded, const std::string& checkpoint) {
  auto describe = [](const FrozenRecord& r) {
    return cat(r.source.empty() ? std::string("built from the seed") : cat("'", r.source, "'"), ", hash ", r.hash);
  };
  for (const auto& [name, now] : current) {
    auto then = recorded.find(name);
    if (then == recorded.end()) {
      // Checkpoints from before frozen modules were recorded, or a module the recipe added since.
      LOOM_WARN(checkpoint, ": has no record of frozen module '", name, "'; using ", describe(now));
      continue;
    }
    if (then->second.hash != now.hash)
      throw UserError(cat(checkpoint, ": frozen module '", name, "' was trained with weights ", describe(then->second),
                          ", but this run loaded ", describe(now), "; resume with the same weights"));
  }
}

}  // namespace loom

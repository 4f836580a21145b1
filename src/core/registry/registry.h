#pragma once
// Name -> factory maps (models, recipes, datasets, losses, optimizers, schedules, metrics).
// Registration is explicit: each family has a register_<family>() called from register_all()
// (core/registries.h), because static initialisers in a static library are dropped by the linker.
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/config/config_error.h"
#include "core/text/cat.h"
#include "core/text/did_you_mean.h"
#include "core/text/join.h"

namespace loom {

class RegistryBase {
 public:
  virtual ~RegistryBase() = default;
  const std::string& kind() const { return kind_; }  // plural noun: "models", "losses", ...
  // (name, one-line description) in name order.
  virtual std::vector<std::pair<std::string, std::string>> list() const = 0;

 protected:
  explicit RegistryBase(std::string kind) : kind_(std::move(kind)) {}

 private:
  std::string kind_;
};

template <class Factory>
class Registry : public RegistryBase {
 public:
  explicit Registry(std::string kind) : RegistryBase(std::move(kind)) {}

  void add(const std::string& name, Factory factory, std::string help) {
    if (entries_.count(name)) throw std::logic_error(cat(kind(), ": '", name, "' registered twice"));
    entries_.emplace(name, Entry{std::move(factory), std::move(help)});
  }

  bool contains(const std::string& name) const { return entries_.count(name) > 0; }

  // Unknown names are user errors that list what exists and suggest the closest.
  const Factory& get(const std::string& name) const {
    auto it = entries_.find(name);
    if (it != entries_.end()) return it->second.factory;
    std::vector<std::string> names;
    for (const auto& [n, e] : entries_) names.push_back(n);
    throw ConfigError(cat("unknown ", kind(), " entry '", name, "'", did_you_mean(name, names),
                          " (registered: ", names.empty() ? "none" : join(names, ", "), ")"));
  }

  std::vector<std::pair<std::string, std::string>> list() const override {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& [n, e] : entries_) out.emplace_back(n, e.help);
    return out;
  }

 private:
  struct Entry {
    Factory factory;
    std::string help;
  };
  std::map<std::string, Entry> entries_;
};

}  // namespace loom

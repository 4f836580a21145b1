#include "sweep/sweep_spec.h"

#include <algorithm>
#include <filesystem>

#include "core/config/config_error.h"
#include "core/config/config_loader.h"
#include "core/io/file_system.h"
#include "core/text/did_you_mean.h"
#include "core/text/join.h"

namespace fs = std::filesystem;

namespace loom::sweep {

namespace {

struct RandomParameterOptions {
  std::string distribution;
  double min = 0, max = 0;
  ConfigNode values;

  template <class V>
  void visit(V& v) {
    v("distribution", distribution,
      {.help = "how values are drawn",
       .required = true,
       .choices = {"uniform", "log_uniform", "int_uniform", "choice"}});
    v("min", min, {.help = "smallest value (uniform, log_uniform, int_uniform)"});
    v("max", max, {.help = "largest value (uniform, log_uniform, int_uniform)"});
    v("values", values, {.help = "the values a choice draws from"});
  }
};

struct RandomOptions {
  int64_t draws = 0;
  int64_t seed = 0;
  std::map<std::string, RandomParameterOptions> parameters;

  template <class V>
  void visit(V& v) {
    v("draws", draws, {.help = "random assignments drawn", .min = 1, .required = true});
    v("seed", seed, {.help = "seed of the draws", .min = 0});
    v("parameters", parameters, {.help = "distribution of each key", .required = true});
  }
};

std::vector<AxisValue> node_values(const ConfigNode& node, const std::string& path) {
  if (!node.is_list()) fail_config(node, path, cat("expected a list of values, got ", node.brief()));
  if (node.items().empty()) fail_config(node, path, "the list of values is empty");
  std::vector<AxisValue> values;
  for (const auto& item : node.items()) values.push_back(axis_value(item));
  return values;
}

RandomParameter random_parameter(const std::string& key, const ConfigNode& node) {
  const std::string path = cat("random.parameters.", key);
  auto o = read_config<RandomParameterOptions>(node, path);
  RandomParameter p{key, o.distribution, o.min, o.max, {}};
  if (o.distribution == "choice") {
    p.values = node_values(o.values, cat(path, ".values"));
  } else {
    if (!o.values.is_null()) fail_config(node, path, "values belong to a choice; give min and max instead");
    if (!(o.min < o.max)) fail_config(node, path, cat("min ", o.min, " must be below max ", o.max));
    if (o.distribution == "log_uniform" && o.min <= 0) fail_config(node, path, "log_uniform needs min > 0");
  }
  return p;
}

void read_sweep_file(const ConfigNode& root, SweepSpec& spec) {
  const std::vector<std::string> known{"sweep", "overrides", "grid", "list", "random", "seeds"};
  for (const auto& [key, node] : root.entries())
    if (std::find(known.begin(), known.end(), key) == known.end())
      fail_config(node, key,
                  cat("unknown sweep-file key", did_you_mean(key, known), " (valid: ", join(known, ", "), ")"));
  if (const ConfigNode* overrides = root.find("overrides")) {
    if (overrides->is_map()) {
      for (const auto& [key, value] : overrides->entries()) spec.fixed.push_back(cat(key, "=", to_flow_yaml(value)));
    } else if (overrides->is_list()) {
      for (const auto& item : overrides->items()) {
        if (!item.is_scalar() || item.scalar().find('=') == std::string::npos)
          fail_config(item, "overrides", "expected key=value");
        spec.fixed.push_back(item.scalar());
      }
    } else {
      fail_config(*overrides, "overrides", "expected a mapping or a list of key=value");
    }
  }
  if (const ConfigNode* grid = root.find("grid")) {
    if (!grid->is_map()) fail_config(*grid, "grid", "expected a mapping of key: [values]");
    for (const auto& [key, values] : grid->entries())
      spec.grid.push_back({key, node_values(values, cat("grid.", key))});
  }
  if (const ConfigNode* list = root.find("list")) {
    if (!list->is_list()) fail_config(*list, "list", "expected a list of {key: value} mappings");
    for (const auto& entry : list->items()) {
      if (!entry.is_map() || entry.entries().empty())
        fail_config(entry, "list", "each entry is a non-empty mapping of key: value");
      ListEntry job;
      for (const auto& [key, value] : entry.entries()) {
        if (key != "_name") {
          job.values.emplace_back(key, axis_value(value));
        } else if (value.is_scalar() && !value.scalar().empty()) {
          job.name = value.scalar();
        } else {
          fail_config(value, "list._name", "expected the variant's name");
        }
      }
      if (job.values.empty()) fail_config(entry, "list", "the entry sets no key");
      spec.list.push_back(std::move(job));
    }
  }
  if (const ConfigNode* random = root.find("random")) {
    auto o = read_config<RandomOptions>(*random, "random");
    spec.random_draws = o.draws;
    spec.random_seed = static_cast<uint64_t>(o.seed);
    for (const auto& [key, node] : random->find("parameters")->entries())
      spec.random.push_back(random_parameter(key, node));
  }
  if (const ConfigNode* seeds = root.find("seeds")) spec.seeds = node_values(*seeds, "seeds");
}

}  // namespace

bool is_sweep_file(const ConfigNode& root) {
  const ConfigNode* sweep = root.is_map() ? root.find("sweep") : nullptr;
  return sweep && sweep->is_map() && sweep->find("config");
}

SweepSpec read_sweep_spec(const std::string& file, const std::vector<std::string>& arguments) {
  auto text = read_file(file);
  if (!text) throw UserError(cat(file, ": cannot read the file"));
  ConfigNode root = parse_yaml(*text, file);
  SweepSpec spec;
  spec.source = file;
  const bool sweep_file = is_sweep_file(root);
  if (sweep_file) {
    read_sweep_file(root, spec);
  } else {
    spec.config = file;
    root = ConfigNode::make_map(Origin{"the command line", 0});
  }
  for (const auto& argument : arguments) {
    const size_t eq = argument.find('=');
    if (eq == std::string::npos || eq == 0)
      throw UserError(cat("'", argument, "': expected key=value or key=v1,v2 (see loom sweep --help)"));
    const std::string key = argument.substr(0, eq), value = argument.substr(eq + 1);
    if (key.starts_with("sweep.")) {
      apply_override(root, argument);
    } else if (!is_sweep_value(value)) {
      spec.fixed.push_back(argument);
    } else if (key == "seed" || key == kSeedKey) {
      spec.seeds = parse_axis_values(kSeedKey, value);
    } else {
      spec.grid.push_back({key, parse_axis_values(key, value)});
    }
  }
  const ConfigNode* options = root.find("sweep");
  spec.options = read_config<SweepOptions>(options ? *options : ConfigNode{}, "sweep");
  if (sweep_file) {  // the base config is relative to the sweep file
    fs::path base = spec.options.config;
    spec.config = (base.is_absolute() ? base : fs::path(file).parent_path() / base).lexically_normal().string();
  }
  if (spec.options.name.empty()) spec.options.name = fs::path(file).stem().string();
  return spec;
}

}  // namespace loom::sweep

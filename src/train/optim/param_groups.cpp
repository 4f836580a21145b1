#include "train/optim/param_groups.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <map>
#include <tuple>

namespace loom {

bool DecayExclusions::excludes(const std::string& name, const at::Tensor& parameter) const {
  if (!decay_1d && parameter.dim() < 2) return true;
  for (const auto& pattern : no_decay)
    if (name.find(pattern) != std::string::npos) return true;
  return false;
}

bool glob_match(std::string_view pattern, std::string_view name) {
  // Greedy with one backtrack point: on a mismatch, the last `*` swallows one more character.
  size_t p = 0, n = 0, star = std::string_view::npos, resume = 0;
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = n;
    } else if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == name[n])) {
      ++p;
      ++n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

namespace {

std::vector<std::string_view> components(std::string_view name) {
  std::vector<std::string_view> out;
  for (size_t start = 0;;) {
    size_t dot = name.find('.', start);
    out.push_back(name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) return out;
    start = dot + 1;
  }
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

}  // namespace

std::optional<int64_t> vit_block_index(const std::string& name) {
  auto parts = components(name);
  for (size_t i = 0; i + 1 < parts.size(); ++i)
    if ((parts[i] == "blocks" || parts[i] == "resblocks") && all_digits(parts[i + 1]))
      return std::stoll(std::string(parts[i + 1]));
  return std::nullopt;
}

// The rule of ViTDet's get_vit_lr_decay_rate (detectron2: detectron2/modeling/backbone/vit.py), with
// open_clip's names besides timm's: conv1 is the patch embedding, class_embedding the class token, and
// ln_pre (applied to the embeddings before block 0) belongs with them. A block index is looked for
// first, so a block's own parameters never count as embeddings.
int64_t vit_layer_id(const std::string& name, int64_t num_layers) {
  if (auto block = vit_block_index(name)) return *block + 1;
  static const std::vector<std::string_view> embeddings{"conv1",      "patch_embed",     "positional_embedding",
                                                        "pos_embed",  "class_embedding", "cls_token",
                                                        "mask_token", "ln_pre",          "token_embedding"};
  for (auto part : components(name))
    if (std::find(embeddings.begin(), embeddings.end(), part) != embeddings.end()) return 0;
  return num_layers + 1;
}

int64_t ParameterGroupPlan::numel() const {
  int64_t n = 0;
  for (const auto& p : parameters) n += p.numel();
  return n;
}

namespace {

// The node of `key` in `section` (for the file:line of an error), or the section itself.
const ConfigNode& node_at(const ConfigNode& section, const std::string& key) {
  const ConfigNode* child = section.is_map() ? section.find(key) : nullptr;
  return child ? *child : section;
}

const ConfigNode& match_node(const ConfigNode& section, size_t rule) {
  const ConfigNode& groups = node_at(section, "groups");
  if (!groups.is_list() || rule >= groups.items().size()) return groups;
  return node_at(groups.items()[rule], "match");
}

std::string first_names(const NamedParameters& parameters) {
  std::string out;
  for (size_t i = 0; i < parameters.size() && i < 6; ++i) out += cat(i ? ", " : "", parameters[i].first);
  if (parameters.size() > 6) out += ", ...";
  return cat(parameters.size(), " parameters; first names: ", out.empty() ? "none" : out);
}

// For a pattern without wildcards (often meant as a prefix or substring): a glob that would match.
std::string glob_hint(const std::string& pattern, const NamedParameters& parameters) {
  if (pattern.find_first_of("*?") != std::string::npos) return "";
  for (const std::string& candidate : {pattern + "*", "*" + pattern, "*" + pattern + "*"})
    for (const auto& [name, p] : parameters)
      if (glob_match(candidate, name))
        return cat("; patterns are globs over the whole name: did you mean '", candidate, "'?");
  return "";
}

}  // namespace

std::vector<ParameterGroupPlan> plan_parameter_groups(const NamedParameters& parameters,
                                                      const ParamGroupOptions& options,
                                                      const DecayExclusions& exclusions, double weight_decay,
                                                      const ConfigNode& section, const std::string& path) {
  const auto key = [&](const std::string& k) { return config_detail::child_path(path, k); };
  if (!(options.layer_decay > 0.0 && options.layer_decay <= 1.0))
    config_detail::fail(node_at(section, "layer_decay"), key("layer_decay"),
                        cat("must be in (0, 1] (1 = off), got ", config_detail::format_double(options.layer_decay)));

  // First match wins; an entry that matches nothing, or only what earlier entries took, is a mistake.
  std::vector<int> rule_of(parameters.size(), -1);
  for (size_t r = 0; r < options.groups.size(); ++r) {
    const std::string& pattern = options.groups[r].match;
    const std::string where = cat(key("groups"), "[", r, "].match");
    std::optional<size_t> first_hit;
    bool took = false;
    for (size_t i = 0; i < parameters.size(); ++i) {
      if (!glob_match(pattern, parameters[i].first)) continue;
      if (!first_hit) first_hit = i;
      if (rule_of[i] < 0) {
        rule_of[i] = static_cast<int>(r);
        took = true;
      }
    }
    if (!first_hit)
      config_detail::fail(
          match_node(section, r), where,
          cat("'", pattern, "' matches no parameter (", first_names(parameters), ")", glob_hint(pattern, parameters)));
    if (!took) {
      const int earlier = rule_of[*first_hit];
      config_detail::fail(match_node(section, r), where,
                          cat("'", pattern, "' matches only parameters that groups[", earlier, "] ('",
                              options.groups[static_cast<size_t>(earlier)].match, "') already takes, e.g. '",
                              parameters[*first_hit].first, "' (the first matching entry wins)"));
    }
  }

  const bool layered = options.layer_decay < 1.0;
  int64_t num_layers = 0;
  std::vector<bool> in_scope(parameters.size(), false);
  if (layered) {
    bool any = false, blocks = false;
    for (size_t i = 0; i < parameters.size(); ++i) {
      if (!glob_match(options.layer_decay_match, parameters[i].first)) continue;
      in_scope[i] = any = true;
      if (auto block = vit_block_index(parameters[i].first)) {
        blocks = true;
        num_layers = std::max(num_layers, *block + 1);
      }
    }
    if (!any)
      config_detail::fail(
          node_at(section, "layer_decay_match"), key("layer_decay_match"),
          cat("'", options.layer_decay_match, "' matches no parameter (", first_names(parameters), ")"));
    if (!blocks)
      config_detail::fail(node_at(section, "layer_decay"), key("layer_decay"),
                          cat("no parameter matching '", options.layer_decay_match,
                              "' is in a numbered block (a name with blocks.<i>. or resblocks.<i>.)"));
  }

  // Ordered by (entry, −layer, excluded): see the header for why the order is fixed.
  std::map<std::tuple<int, int64_t, bool>, ParameterGroupPlan> groups;
  for (size_t i = 0; i < parameters.size(); ++i) {
    const auto& [name, p] = parameters[i];
    const int r = rule_of[i];
    const bool excluded = exclusions.excludes(name, p);
    std::optional<int64_t> layer;
    if (layered) layer = in_scope[i] ? vit_layer_id(name, num_layers) : num_layers + 1;
    auto [it, fresh] = groups.try_emplace(std::make_tuple(r, -layer.value_or(0), excluded));
    ParameterGroupPlan& g = it->second;
    if (fresh) {
      const ParamGroupRule* rule = r >= 0 ? &options.groups[static_cast<size_t>(r)] : nullptr;
      g.rule = r;
      g.rule_text = rule ? cat("groups[", r, "] '", rule->match, "'") : "default";
      g.excluded = excluded;
      g.layer = layer;
      g.lr_scale = (rule ? rule->lr_mult : 1.0) *
                   (layer ? std::pow(options.layer_decay, static_cast<double>(num_layers + 1 - *layer)) : 1.0);
      g.weight_decay = excluded ? 0.0 : (rule && rule->weight_decay ? *rule->weight_decay : weight_decay);
    }
    g.names.push_back(name);
    g.parameters.push_back(p);
  }
  std::vector<ParameterGroupPlan> out;
  for (auto& [k, g] : groups) out.push_back(std::move(g));
  return out;
}

std::vector<std::string> parameter_group_table(const std::vector<ParameterGroupPlan>& plan, double base_lr,
                                               const std::string& title) {
  const auto number = [](double value) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.4g", value);
    return std::string(buffer);
  };
  std::vector<std::vector<std::string>> rows{{"group", "rule", "layer", "lr", "weight_decay", "tensors", "parameters"}};
  int64_t tensors = 0, total = 0;
  for (size_t g = 0; g < plan.size(); ++g) {
    const auto& group = plan[g];
    rows.push_back({std::to_string(g), group.rule_text + (group.excluded ? ", no decay" : ""),
                    group.layer ? std::to_string(*group.layer) : "-", number(base_lr * group.lr_scale),
                    number(group.weight_decay), std::to_string(group.parameters.size()),
                    std::to_string(group.numel())});
    tensors += static_cast<int64_t>(group.parameters.size());
    total += group.numel();
  }
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& row : rows)
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  std::vector<std::string> lines{cat(title, ": ", plan.size(), " parameter groups, ", tensors, " tensors, ", total,
                                     " parameters (lr before the schedule)")};
  for (const auto& row : rows) {
    std::string line = " ";
    for (size_t c = 0; c < row.size(); ++c) line += " " + row[c] + std::string(width[c] - row[c].size(), ' ');
    while (!line.empty() && line.back() == ' ') line.pop_back();
    lines.push_back(line);
  }
  return lines;
}

}  // namespace loom

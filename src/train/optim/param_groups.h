#pragma once
// Parameter groups by name. The optimizer sections split their parameters into groups by three rules:
//   - `groups:` entries, each a glob over the full parameter name with an lr multiplier and/or a weight
//     decay; the first entry that matches a parameter takes it; unmatched parameters keep the section's
//     lr and weight_decay;
//   - the weight-decay exclusions (DecayExclusions): an excluded parameter gets no decay whatever its
//     entry says (set decay_1d / no_decay to change what is excluded);
//   - ViT layer-wise lr decay (layer_decay < 1): lr × layer_decay^(L + 1 − layer id), L blocks.
// The lr of a group is the section's lr × its multipliers × the lazy-regularisation ratio; the trainer's
// schedule then multiplies that per group (train/trainer.cpp keeps one base lr per group).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

#include "core/config/config_schema.h"

namespace loom {

using NamedParameters = std::vector<std::pair<std::string, at::Tensor>>;

// Which parameters get no weight decay: every tensor with fewer than two dimensions (biases, norm
// gains, scalars such as logit_scale) unless decay_1d, and every name containing one of no_decay.
struct DecayExclusions {
  bool decay_1d = false;
  std::vector<std::string> no_decay{"embedding", "pos_embed", "cls_token"};

  template <class V>
  void visit(V& v) {
    v("decay_1d", decay_1d, {.help = "also decay biases, norm weights and other tensors with < 2 dims"});
    v("no_decay", no_decay, {.help = "parameter-name substrings excluded from weight decay"});
  }
  bool excludes(const std::string& name, const at::Tensor& parameter) const;
};

// One entry of `groups:`.
struct ParamGroupRule {
  std::string match;
  double lr_mult = 1.0;
  std::optional<double> weight_decay;  // unset: the section's weight_decay

  template <class V>
  void visit(V& v) {
    v("match", match,
      {.help = "glob over the full parameter name: * any characters (dots too), ? one", .required = true});
    v("lr_mult", lr_mult, {.help = "multiplier of the section's lr", .min = 0.0});
    v("weight_decay", weight_decay,
      {.help = "weight decay of the matched parameters (excluded ones keep 0)", .min = 0.0});
  }
};

struct ParamGroupOptions {
  std::vector<ParamGroupRule> groups;
  double layer_decay = 1.0;
  std::string layer_decay_match = "*";

  template <class V>
  void visit(V& v) {
    v("groups", groups, {.help = "per-name rules {match, lr_mult, weight_decay}; the first match wins"});
    v("layer_decay", layer_decay, {.help = "ViT layer-wise lr decay in (0, 1]; 1 = off"});
    v("layer_decay_match", layer_decay_match, {.help = "glob of the parameters that get ViT layer ids"});
  }
};

// `pattern` matches all of `name`; `*` matches any run of characters (dots included), `?` one.
bool glob_match(std::string_view pattern, std::string_view name);

// The block of a ViT parameter: i for a name with the components `blocks.<i>` or `resblocks.<i>`.
std::optional<int64_t> vit_block_index(const std::string& name);
// Its layer id for layer decay with `num_layers` blocks: embeddings 0, block i → i + 1, the rest
// (final norms, projections, heads) num_layers + 1.
int64_t vit_layer_id(const std::string& name, int64_t num_layers);

struct ParameterGroupPlan {
  int rule = -1;                 // index into groups; -1 = no entry matched
  std::string rule_text;         // "default", "groups[1] '*.bias'"
  bool excluded = false;         // weight-decay exclusion (kept apart so the group layout never
                                 // depends on decay values: checkpoints stay loadable)
  std::optional<int64_t> layer;  // layer id, with layer decay on
  double lr_scale = 1.0;         // lr_mult × layer_decay^(L + 1 − layer)
  double weight_decay = 0.0;
  std::vector<std::string> names;
  std::vector<at::Tensor> parameters;
  int64_t numel() const;
};

// The groups of `parameters` under `options`, in a fixed order (so optimizer state restores group by
// group): the unmatched parameters first, then each entry in config order; within those, higher layer
// ids (full lr) first, then decayed before excluded. Empty groups are left out. `section` is the
// optimizer section at `path` ("d_optimizer"); ConfigErrors name the key, e.g.
// `d_optimizer.groups[1].match: 'backbone.' matches no parameter`.
std::vector<ParameterGroupPlan> plan_parameter_groups(const NamedParameters& parameters,
                                                      const ParamGroupOptions& options,
                                                      const DecayExclusions& exclusions, double weight_decay,
                                                      const ConfigNode& section, const std::string& path);

// The start-up table: one line per group (rule, layer, lr = base_lr × lr_scale, weight decay,
// tensors, parameters) under a title line.
std::vector<std::string> parameter_group_table(const std::vector<ParameterGroupPlan>& plan, double base_lr,
                                               const std::string& title);

}  // namespace loom

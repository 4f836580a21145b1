#pragma once
// Options of the registered optimizers. The factories split the parameters they are given into groups
// by name (train/optim/param_groups.h: per-pattern lr multiplier and weight decay, the no-decay
// exclusions, ViT layer decay), print the groups, and apply the lazy-regularisation adjustment of
// phases that run every N steps (lr·c, β^c with c = N / (N + 1)) to every group.
#include <cstdint>
#include <string>
#include <vector>

#include "core/config/config_schema.h"
#include "train/optim/param_groups.h"

namespace loom {

struct AdamOptions {
  std::string name = "adam";
  double lr = 1e-3;
  std::vector<double> betas{0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = 0.0;
  DecayExclusions exclusions;
  ParamGroupOptions grouping;

  template <class V>
  void visit(V& v) {
    v("name", name);
    v("lr", lr, {.help = "learning rate", .min = 0.0});
    v("betas", betas, {.help = "(beta1, beta2)", .min = 0.0, .max = 1.0});
    v("eps", eps, {.help = "denominator epsilon", .min = 0.0});
    v("weight_decay", weight_decay, {.help = "L2 (adam) or decoupled (adamw) weight decay", .min = 0.0});
    exclusions.visit(v);
    grouping.visit(v);
  }
};

struct SgdOptions {
  std::string name = "sgd";
  double lr = 0.1;
  double momentum = 0.9;
  double weight_decay = 0.0;
  bool nesterov = false;
  DecayExclusions exclusions;
  ParamGroupOptions grouping;

  template <class V>
  void visit(V& v) {
    v("name", name);
    v("lr", lr, {.help = "learning rate", .min = 0.0});
    v("momentum", momentum, {.help = "momentum factor", .min = 0.0, .max = 1.0});
    v("weight_decay", weight_decay, {.help = "L2 weight decay", .min = 0.0});
    v("nesterov", nesterov, {.help = "Nesterov momentum"});
    exclusions.visit(v);
    grouping.visit(v);
  }
};

// c = interval / (interval + 1) for a phase run every `interval` steps next to its main phase
// (StyleGAN2's lazy regularisation); 1 for interval <= 1.
double lazy_regularization_ratio(int64_t interval);

}  // namespace loom

#pragma once
// Options of the registered optimizers; the factories build the matching torch::optim optimizer over
// the parameter groups a recipe hands them (per-group options such as weight decay 0 are kept).
#include <string>
#include <vector>

#include "core/config_schema.h"

namespace loom {

struct AdamOptions {
  std::string name = "adam";
  double lr = 1e-3;
  std::vector<double> betas{0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = 0.0;

  template <class V>
  void visit(V& v) {
    v("name", name);
    v("lr", lr, {.help = "learning rate", .min = 0.0});
    v("betas", betas, {.help = "(beta1, beta2)", .min = 0.0, .max = 1.0});
    v("eps", eps, {.help = "denominator epsilon", .min = 0.0});
    v("weight_decay", weight_decay, {.help = "L2 (adam) or decoupled (adamw) weight decay", .min = 0.0});
  }
};

struct SgdOptions {
  std::string name = "sgd";
  double lr = 0.1;
  double momentum = 0.9;
  double weight_decay = 0.0;
  bool nesterov = false;

  template <class V>
  void visit(V& v) {
    v("name", name);
    v("lr", lr, {.help = "learning rate", .min = 0.0});
    v("momentum", momentum, {.help = "momentum factor", .min = 0.0, .max = 1.0});
    v("weight_decay", weight_decay, {.help = "L2 weight decay", .min = 0.0});
    v("nesterov", nesterov, {.help = "Nesterov momentum"});
  }
};

}  // namespace loom

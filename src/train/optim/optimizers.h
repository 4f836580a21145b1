#pragma once
// Options of the registered optimizers. The factories split the parameters they are given into a
// weight-decay group and a no-decay group (biases, norm weights, scalars, embeddings), and apply the
// lazy-regularisation adjustment of phases that run every N steps (lr·c, β^c with c = N / (N + 1)).
#include <string>
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

struct AdamOptions {
  std::string name = "adam";
  double lr = 1e-3;
  std::vector<double> betas{0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = 0.0;
  DecayExclusions exclusions;

  template <class V>
  void visit(V& v) {
    v("name", name);
    v("lr", lr, {.help = "learning rate", .min = 0.0});
    v("betas", betas, {.help = "(beta1, beta2)", .min = 0.0, .max = 1.0});
    v("eps", eps, {.help = "denominator epsilon", .min = 0.0});
    v("weight_decay", weight_decay, {.help = "L2 (adam) or decoupled (adamw) weight decay", .min = 0.0});
    exclusions.visit(v);
  }
};

struct SgdOptions {
  std::string name = "sgd";
  double lr = 0.1;
  double momentum = 0.9;
  double weight_decay = 0.0;
  bool nesterov = false;
  DecayExclusions exclusions;

  template <class V>
  void visit(V& v) {
    v("name", name);
    v("lr", lr, {.help = "learning rate", .min = 0.0});
    v("momentum", momentum, {.help = "momentum factor", .min = 0.0, .max = 1.0});
    v("weight_decay", weight_decay, {.help = "L2 weight decay", .min = 0.0});
    v("nesterov", nesterov, {.help = "Nesterov momentum"});
    exclusions.visit(v);
  }
};

// c = interval / (interval + 1) for a phase run every `interval` steps next to its main phase
// (StyleGAN2's lazy regularisation); 1 for interval <= 1.
double lazy_regularization_ratio(int64_t interval);

}  // namespace loom

#include "models/stylegan2/mapping_network.h"

#include <ATen/ops/cat.h>
#include <ATen/ops/lerp.h>
#include <ATen/ops/rsqrt.h>
#include <ATen/ops/zeros.h>
#include <c10/core/GradMode.h>

#include "core/error.h"
#include "core/text/cat.h"

namespace loom {

at::Tensor normalize_2nd_moment(const at::Tensor& x) { return x * at::rsqrt(x.square().mean({1}, true) + 1e-8); }

MappingNetworkImpl::MappingNetworkImpl(const MappingOptions& options) : options_(options) {
  const int64_t embed_features = options.c_dim > 0 ? options.w_dim : 0;
  if (options.c_dim > 0) embed_ = register_module("embed", nn::EqualizedLinear(options.c_dim, embed_features));
  int64_t in = options.z_dim + embed_features;
  for (int64_t i = 0; i < options.num_layers; ++i) {
    nn::EqualizedLinearOptions fc{.activation = nn::BiasActivation::lrelu, .lr_multiplier = options.lr_multiplier};
    layers_.push_back(register_module(cat("fc", i), nn::EqualizedLinear(in, options.w_dim, fc)));
    in = options.w_dim;
  }
  if (options.w_avg_beta) w_avg = register_buffer("w_avg", at::zeros({options.w_dim}));
}

at::Tensor MappingNetworkImpl::forward(const at::Tensor& z, const at::Tensor& c, double truncation_psi,
                                       int64_t truncation_cutoff, bool update_w_avg) {
  // float32 as NVlabs computes it, unless the network itself was converted (float64 checks).
  const auto dtype = layers_.front()->weight.scalar_type();
  at::Tensor x;
  if (options_.z_dim > 0) {
    if (!z.defined() || z.dim() != 2 || z.size(1) != options_.z_dim)
      throw UserError(cat("mapping network: z must be [N, ", options_.z_dim, "]"));
    x = normalize_2nd_moment(z.to(dtype));
  }
  if (options_.c_dim > 0) {
    if (!c.defined() || c.dim() != 2 || c.size(1) != options_.c_dim)
      throw UserError(cat("mapping network: the generator is conditional, c must be [N, ", options_.c_dim, "]"));
    at::Tensor y = normalize_2nd_moment(embed_->forward(c.to(dtype)));
    x = x.defined() ? at::cat({x, y}, 1) : y;
  }
  for (auto& layer : layers_) x = layer->forward(x);
  if (w_avg.defined() && is_training() && update_w_avg) {
    c10::NoGradGuard no_grad;
    w_avg.copy_(at::lerp(x.detach().mean(0), w_avg, *options_.w_avg_beta));
  }
  if (options_.num_ws > 0) x = x.unsqueeze(1).repeat({1, options_.num_ws, 1});
  if (truncation_psi != 1.0) {
    if (!w_avg.defined()) throw UserError("mapping network: truncation needs the tracked w_avg");
    if (truncation_cutoff < 0 || options_.num_ws == 0) {
      x = at::lerp(w_avg, x, truncation_psi);
    } else {
      const int64_t cut = std::min(truncation_cutoff, options_.num_ws);
      x = at::cat({at::lerp(w_avg, x.narrow(1, 0, cut), truncation_psi), x.narrow(1, cut, options_.num_ws - cut)}, 1);
    }
  }
  return x;
}

int64_t MappingNetworkImpl::multiply_accumulates() const {
  int64_t macs = embed_ ? embed_->weight.numel() : 0;
  for (const auto& layer : layers_) macs += layer->weight.numel();
  return macs;
}

}  // namespace loom

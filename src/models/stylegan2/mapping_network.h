#pragma once
// StyleGAN2 mapping network z (+ class c) -> w (NVlabs MappingNetwork): 2nd-moment normalisation of z,
// `fc0 … fc{n-1}` equalized FC layers with leaky ReLU and a 0.01 learning-rate multiplier, the tracked
// mean `w_avg` (a buffer, lerped towards the batch mean with β 0.995 in training) and truncation
// w ← w_avg + ψ (w − w_avg) on all or the first `cutoff` of the broadcast ws. With z_dim 0 and no
// w_avg it is the discriminator's label embedding for projection conditioning.
#include <cstdint>
#include <optional>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "nn/equalized_linear.h"

namespace loom {

struct MappingOptions {
  int64_t z_dim = 512, c_dim = 0, w_dim = 512;
  int64_t num_ws = 0;  // 0 = return [N, w_dim] without broadcasting
  int64_t num_layers = 8;
  double lr_multiplier = 0.01;
  std::optional<double> w_avg_beta = 0.995;  // none = no w_avg buffer (no tracking, no truncation)
};

class MappingNetworkImpl : public torch::nn::Module {
 public:
  explicit MappingNetworkImpl(const MappingOptions& options);
  // z [N, z_dim] (undefined when z_dim is 0), c [N, c_dim] (undefined when 0) -> ws [N, num_ws, w_dim].
  // `truncation_cutoff` < 0 truncates every w. `update_w_avg` is honoured in training mode only.
  at::Tensor forward(const at::Tensor& z, const at::Tensor& c, double truncation_psi = 1.0,
                     int64_t truncation_cutoff = -1, bool update_w_avg = true);
  const MappingOptions& options() const { return options_; }
  const std::vector<nn::EqualizedLinear>& layers() const { return layers_; }  // fc0, fc1, …
  int64_t multiply_accumulates() const;

  at::Tensor w_avg;  // [w_dim] buffer

 private:
  MappingOptions options_;
  nn::EqualizedLinear embed_{nullptr};
  std::vector<nn::EqualizedLinear> layers_;
};
TORCH_MODULE(MappingNetwork);

// x · rsqrt(mean(x², dim 1) + 1e-8).
at::Tensor normalize_2nd_moment(const at::Tensor& x);

}  // namespace loom

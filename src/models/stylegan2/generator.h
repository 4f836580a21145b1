#pragma once
// StyleGAN2 generator (NVlabs Generator): `mapping` + `synthesis`, with NVlabs' state-dict names so
// stylegan2-ada-pytorch weights (exported by scripts/convert_stylegan2.py) load without renaming.
#include <cstdint>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "models/stylegan2/mapping_network.h"
#include "models/stylegan2/stylegan2_options.h"
#include "models/stylegan2/synthesis_network.h"

namespace loom {

struct GenerateOptions {
  double truncation_psi = 1.0;
  int64_t truncation_cutoff = -1;  // < 0: truncate every w
  NoiseMode noise_mode = NoiseMode::random;
};

class GeneratorImpl : public torch::nn::Module {
 public:
  explicit GeneratorImpl(const StyleGan2Options& options);
  // z [N, z_dim], c [N, c_dim] or undefined -> images [N, C, R, R].
  at::Tensor forward(const at::Tensor& z, const at::Tensor& c, const GenerateOptions& generate = {});
  const StyleGan2Options& options() const { return options_; }
  int64_t num_ws() const { return synthesis->num_ws(); }

  MappingNetwork mapping{nullptr};
  SynthesisNetwork synthesis{nullptr};

 private:
  StyleGan2Options options_;
};
TORCH_MODULE(Generator);

}  // namespace loom

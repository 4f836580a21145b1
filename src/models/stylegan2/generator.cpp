#include "models/stylegan2/generator.h"

namespace loom {

GeneratorImpl::GeneratorImpl(const StyleGan2Options& options) : options_(options) {
  synthesis = register_module("synthesis", SynthesisNetwork(options));
  MappingOptions m{.z_dim = options.z_dim,
                   .c_dim = options.c_dim,
                   .w_dim = options.w_dim,
                   .num_ws = synthesis->num_ws(),
                   .num_layers = options.mapping_layers,
                   .lr_multiplier = options.mapping_lr_multiplier,
                   .w_avg_beta = options.w_avg_beta};
  mapping = register_module("mapping", MappingNetwork(m));
}

at::Tensor GeneratorImpl::forward(const at::Tensor& z, const at::Tensor& c, const GenerateOptions& generate) {
  at::Tensor ws = mapping->forward(z, c, generate.truncation_psi, generate.truncation_cutoff);
  return synthesis->forward(ws, generate.noise_mode);
}

}  // namespace loom

#pragma once
// Latents for generation: z from seeds the way NVlabs' scripts draw them, and W-space style mixing.
#include <cstdint>
#include <functional>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "models/stylegan2/generator.h"

namespace loom {

// [seeds.size(), z_dim] float32: row i is np.random.RandomState(seeds[i]).randn(z_dim).
at::Tensor z_from_seeds(const std::vector<int64_t>& seeds, int64_t z_dim);

// ws of `rows` with the layers listed in `styles` taken from `columns` (NVlabs style_mixing.py):
// ws_rows [R, num_ws, w], ws_columns [C, num_ws, w] -> [R·C, num_ws, w], row-major.
at::Tensor mix_styles(const at::Tensor& ws_rows, const at::Tensor& ws_columns, const std::vector<int64_t>& styles);

// One-hot class vectors [N, c_dim] (float32) of class indices [N]; UserError naming `what` for an index
// outside 0..c_dim-1.
at::Tensor class_vectors(const at::Tensor& classes, int64_t c_dim, const std::string& what);

// What generating from seeds needs of a generator, whichever family: its mapping network and its
// synthesis as a function of W+ (a StyleGAN2 teacher, a BlazeStyleGAN student with the teacher's mapping).
struct SeedGenerator {
  MappingNetworkImpl* mapping = nullptr;
  std::function<at::Tensor(const at::Tensor& ws, NoiseMode noise_mode)> synthesize;
};
SeedGenerator seed_generator(GeneratorImpl& generator);

// The images of `seeds` (z as z_from_seeds) on `device`, generated `chunk` at a time; `labels` [N, c_dim]
// or undefined. Returned on the CPU.
at::Tensor images_from_seeds(const SeedGenerator& generator, const std::vector<int64_t>& seeds,
                             const at::Tensor& labels, const GenerateOptions& options, c10::Device device,
                             int64_t chunk = 16);
inline at::Tensor images_from_seeds(GeneratorImpl& generator, const std::vector<int64_t>& seeds,
                                    const at::Tensor& labels, const GenerateOptions& options, c10::Device device,
                                    int64_t chunk = 16) {
  return images_from_seeds(seed_generator(generator), seeds, labels, options, device, chunk);
}

// "0-3,7,9-10" -> {0,1,2,3,7,9,10}; throws UserError naming `what` on a malformed list or one of
// more than a million entries.
std::vector<int64_t> parse_index_list(const std::string& text, const std::string& what);

}  // namespace loom

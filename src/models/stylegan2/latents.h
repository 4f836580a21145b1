#pragma once
// Latents for generation: z from seeds the way NVlabs' scripts draw them, and W-space style mixing.
#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

namespace loom {

class MappingNetworkImpl;

// [seeds.size(), z_dim] float32: row i is np.random.RandomState(seeds[i]).randn(z_dim).
at::Tensor z_from_seeds(const std::vector<int64_t>& seeds, int64_t z_dim);

// ws of `rows` with the layers listed in `styles` taken from `columns` (NVlabs style_mixing.py):
// ws_rows [R, num_ws, w], ws_columns [C, num_ws, w] -> [R·C, num_ws, w], row-major.
at::Tensor mix_styles(const at::Tensor& ws_rows, const at::Tensor& ws_columns, const std::vector<int64_t>& styles);

// "0-3,7,9-10" -> {0,1,2,3,7,9,10}; throws UserError naming `what` on a malformed list.
std::vector<int64_t> parse_index_list(const std::string& text, const std::string& what);

}  // namespace loom

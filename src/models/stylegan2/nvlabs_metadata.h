#pragma once
// The Loom `model:` section of a file written by scripts/convert_stylegan2.py before it recorded
// "loom.model" (models/model_metadata.h), from its NVlabs-named metadata: resolution, z_dim, w_dim,
// c_dim, img_channels, channel_base, channel_max, mbstd_group_size as they are; map_layers →
// mapping_layers, map_lr_multiplier → mapping_lr_multiplier, mbstd_num_channels → mbstd_channels,
// conv_clamp "none" → null; num_fp16_res from G_init_kwargs.synthesis_kwargs (NVlabs' default 0 when
// the kwargs omit it). rosinality's generator has neither a clamp nor float16 blocks.
#include <optional>
#include <string>

#include "core/config/config_node.h"
#include "core/io/weights.h"

namespace loom {

// nullopt when the metadata is not a converter's (no "source_layout"). UserError naming `file` for a
// generator architecture other than NVlabs' 'skip', the one Loom builds.
std::optional<ConfigNode> model_section_from_nvlabs_metadata(const weights::Metadata& metadata,
                                                             const std::string& file);

}  // namespace loom

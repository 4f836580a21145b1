#include "models/stylegan2/nvlabs_metadata.h"

#include <utility>

#include "core/config/config_loader.h"
#include "core/error.h"
#include "core/text/cat.h"

namespace loom {

namespace {

bool is_none(const std::string& value) { return value == "none" || value == "None" || value == "null"; }

// G_init_kwargs.synthesis_kwargs.num_fp16_res (JSON, which parse_yaml reads); nullopt without kwargs.
std::optional<std::string> num_fp16_res(const weights::Metadata& metadata, const std::string& file) {
  auto kwargs = metadata.find("G_init_kwargs");
  if (kwargs == metadata.end()) return std::nullopt;
  const ConfigNode root = parse_yaml(kwargs->second, cat(file, " metadata G_init_kwargs"));
  const ConfigNode* synthesis = root.is_map() ? root.find("synthesis_kwargs") : nullptr;
  const ConfigNode* value = synthesis && synthesis->is_map() ? synthesis->find("num_fp16_res") : nullptr;
  return value && value->is_scalar() ? value->scalar() : "0";  // NVlabs' SynthesisNetwork default
}

}  // namespace

std::optional<ConfigNode> model_section_from_nvlabs_metadata(const weights::Metadata& metadata,
                                                             const std::string& file) {
  auto layout = metadata.find("source_layout");
  if (layout == metadata.end()) return std::nullopt;
  if (auto a = metadata.find("architecture"); a != metadata.end() && a->second != "skip")
    throw UserError(
        cat(file, ": the generator's architecture is '", a->second, "'; Loom builds NVlabs' 'skip' generator only"));
  const Origin origin{cat(file, " metadata"), 0};
  ConfigNode section = ConfigNode::make_map(origin);
  auto put = [&](const std::string& key, const std::string& value) {
    ConfigNode node = ConfigNode::make_scalar(value, origin);
    if (is_none(value)) {
      node = ConfigNode();
      node.set_origin(origin);
    }
    section.set(key, std::move(node));
  };
  put("name", "stylegan2");
  const std::pair<const char*, const char*> renamed[] = {{"resolution", "resolution"},
                                                         {"img_channels", "img_channels"},
                                                         {"z_dim", "z_dim"},
                                                         {"w_dim", "w_dim"},
                                                         {"c_dim", "c_dim"},
                                                         {"map_layers", "mapping_layers"},
                                                         {"map_lr_multiplier", "mapping_lr_multiplier"},
                                                         {"channel_base", "channel_base"},
                                                         {"channel_max", "channel_max"},
                                                         {"conv_clamp", "conv_clamp"},
                                                         {"mbstd_group_size", "mbstd_group_size"},
                                                         {"mbstd_num_channels", "mbstd_channels"}};
  for (const auto& [nvlabs, loom] : renamed) {
    auto it = metadata.find(nvlabs);
    // conv_clamp is the one optional value; any other left unset (None) by NVlabs is left to the config.
    if (it != metadata.end() && (!is_none(it->second) || std::string(loom) == "conv_clamp")) put(loom, it->second);
  }
  if (layout->second == "rosinality") {
    put("conv_clamp", "none");
    put("num_fp16_res", "0");
  } else if (auto fp16 = num_fp16_res(metadata, file)) {
    put("num_fp16_res", *fp16);
  }
  return section;
}

}  // namespace loom

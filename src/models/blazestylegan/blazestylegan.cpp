#include "models/blazestylegan/blazestylegan.h"

#include "core/registry/registries.h"
#include "core/text/cat.h"
#include "core/text/join.h"
#include "core/text/with_commas.h"

namespace loom {

BlazeStyleGan::BlazeStyleGan(const BlazeStyleGanOptions& options) : options_(options) {
  if (options.mapping_layers > 0) {
    MappingOptions m{.z_dim = options.z_dim,
                     .c_dim = 0,
                     .w_dim = options.w_dim,
                     .num_ws = options.mapping_num_ws(),
                     .num_layers = options.mapping_layers,
                     .lr_multiplier = options.mapping_lr_multiplier,
                     .w_avg_beta = options.w_avg_beta};
    mapping = register_module("mapping", MappingNetwork(m));
  }
  synthesis = register_module("synthesis", BlazeSynthesis(options));
}

std::vector<std::pair<std::string, int64_t>> BlazeStyleGan::multiply_accumulates() const {
  std::vector<std::pair<std::string, int64_t>> macs;
  if (mapping) macs.emplace_back("mapping", mapping->multiply_accumulates());
  const auto& levels = synthesis->levels();
  for (size_t l = 0; l < levels.size(); ++l)
    macs.emplace_back(cat("synthesis.b", levels[l]->resolution()),
                      levels[l]->multiply_accumulates(l + 1 == levels.size()));
  return macs;
}

std::vector<std::string> BlazeStyleGan::info_notes() const {
  int64_t params = 0;
  for (const auto& p : synthesis->parameters()) params += p.numel();
  const int64_t heads = static_cast<int64_t>(synthesis->levels().size());
  return {cat("synthesis (the paper's count): ", with_commas(params), " trainable parameters (all ", heads, " heads), ",
              with_commas(synthesis->multiply_accumulates()),
              " mult-adds per image at inference (last head "
              "only; transposed convs at input resolution, affines and the head counted; FIR, demodulation, noise, "
              "bias, activations not)"),
          cat("synthesis training forward (every head): ", with_commas(synthesis->multiply_accumulates(true)),
              " mult-adds"),
          cat("levels' RGB sides: ", join(synthesis->level_resolutions(), ", "), "; num_ws: ", synthesis->num_ws(),
              " (the first of the teacher's ", options_.mapping_num_ws(), ")"),
          "the mapping row is the teacher's network, copied by the distill recipe, and not in the paper's count"};
}

void register_blazestylegan_models() {
  model_registry().add(
      "blazestylegan",
      [](const ConfigNode& section, const std::string& path) {
        auto options = read_config<BlazeStyleGanOptions>(section, path);
        validate(options, section, path);
        return std::make_shared<BlazeStyleGan>(options);
      },
      "BlazeStyleGAN student: teacher-shaped mapping + synthesis with per-level UpToRGB heads");
}

}  // namespace loom

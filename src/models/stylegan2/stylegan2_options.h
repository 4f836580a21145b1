#pragma once
// Hyperparameters of the StyleGAN2 generator and discriminator (NVlabs stylegan2-ada-pytorch names in
// the comments). config-f: channel_base 32768, channel_max 512; paper256: channel_base 16384.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>

#include "core/config/config_schema.h"

namespace loom {

struct StyleGan2Options {
  std::string name = "stylegan2";
  int64_t resolution = 256;  // img_resolution, a power of two >= 8
  int64_t img_channels = 3;
  int64_t z_dim = 512;
  int64_t w_dim = 512;
  int64_t c_dim = 0;           // class-label size; 0 = unconditional
  int64_t mapping_layers = 8;  // map (8 for stylegan2/paper configs, 2 for auto/cifar)
  double mapping_lr_multiplier = 0.01;
  double w_avg_beta = 0.995;     // tracking of the mean w used by truncation
  int64_t channel_base = 32768;  // channels at resolution r: min(channel_base / r, channel_max)
  int64_t channel_max = 512;
  int64_t num_fp16_res = 0;          // highest-resolution blocks run in float16 on CUDA (NVlabs trains with 4)
  std::optional<double> conv_clamp;  // clamp of conv outputs (256 in NVlabs training configs)
  int64_t mbstd_group_size = 4;      // minibatch-std group (4 config-f, 8 paper256/512)
  int64_t mbstd_channels = 1;
  int64_t freeze_d_layers = 0;  // Freeze-D: the first N discriminator layers are frozen (freezed)

  int64_t channels_at(int64_t res) const { return std::min(channel_base / res, channel_max); }
  int64_t log2_resolution() const {
    int64_t k = 0;
    while ((int64_t{1} << k) < resolution) ++k;
    return k;
  }
  int64_t num_ws() const { return 2 * log2_resolution() - 2; }
  // Blocks at this resolution and above run in float16 when enabled (NVlabs fp16_resolution).
  int64_t fp16_resolution() const { return std::max<int64_t>(int64_t{1} << (log2_resolution() + 1 - num_fp16_res), 8); }

  template <class V>
  void visit(V& v) {
    v("name", name);
    v("resolution", resolution, {.help = "output resolution (power of two)", .min = 8});
    v("img_channels", img_channels, {.help = "image channels", .min = 1});
    v("z_dim", z_dim, {.help = "latent z size", .min = 1});
    v("w_dim", w_dim, {.help = "intermediate latent w size", .min = 1});
    v("c_dim", c_dim, {.help = "class-label size (0 = unconditional)", .min = 0});
    v("mapping_layers", mapping_layers, {.help = "fully connected layers of the mapping network", .min = 1});
    v("mapping_lr_multiplier", mapping_lr_multiplier,
      {.help = "learning-rate multiplier of the mapping network", .min = 0.0});
    v("w_avg_beta", w_avg_beta, {.help = "decay of the tracked mean w (truncation centre)", .min = 0.0, .max = 1.0});
    v("channel_base", channel_base, {.help = "channels = min(channel_base / resolution, channel_max)", .min = 1});
    v("channel_max", channel_max, {.help = "maximum channels per layer", .min = 1});
    v("num_fp16_res", num_fp16_res, {.help = "highest-resolution blocks in float16 on CUDA", .min = 0});
    v("conv_clamp", conv_clamp, {.help = "clamp conv outputs to +-value (256 in NVlabs training)", .min = 0.0});
    v("mbstd_group_size", mbstd_group_size, {.help = "minibatch standard deviation group size", .min = 1});
    v("mbstd_channels", mbstd_channels, {.help = "minibatch standard deviation features (0 = off)", .min = 0});
    v("freeze_d_layers", freeze_d_layers, {.help = "Freeze-D: freeze the first N discriminator layers", .min = 0});
  }
};

// Throws ConfigError naming the key (at the section's origin) when the options cannot build a network.
void validate(const StyleGan2Options& options, const ConfigNode& section, const std::string& path);

}  // namespace loom

#pragma once
// Hyperparameters of the BlazeStyleGAN student (model `blazestylegan`): a synthesis network fed the
// teacher's W+ from a learned 4x4 constant, one level per resolution 4, 8, …, each level upsampling
// ×2 (but the first), two convs (one at 4x4) and an auxiliary UpToRGB head; plus a teacher-shaped
// mapping network so a student weight file generates from seeds on its own.
//
// Levels: 4 … R with final_upsample none; 4 … R/2 otherwise (the last level runs at half the output
// side and its head does the final ×2). `channels` has one width per level.
//
// Which w each layer reads (the student takes the first num_ws of the teacher's W+):
//   head_ws: shared    NVlabs' overlap: conv k reads w[k] (b4.conv1 = 0, b8.conv0 = 1, …) and a level's
//                      head reads the w of the next conv, so num_ws = convs + 1 (12 at 256: MediaPipe's);
//   head_ws: separate  MobileStyleGAN's: convs and heads each read their own w in layer order, so
//                      num_ws = convs + levels (23 for its 1024 generator).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/config/config_schema.h"

namespace loom {

enum class StudentConv { depthwise, full };
enum class LevelUpsample { haar, transposed, bilinear };
enum class FinalUpsample { none, haar, pixel_shuffle };

struct BlazeStyleGanOptions {
  std::string name = "blazestylegan";
  int64_t resolution = 256;  // output side, a power of two >= 8
  int64_t img_channels = 3;
  int64_t z_dim = 512;
  int64_t w_dim = 512;
  int64_t mapping_layers = 8;  // 0 = no mapping network (W+ always comes from elsewhere)
  double mapping_lr_multiplier = 0.01;
  double w_avg_beta = 0.995;
  int64_t teacher_num_ws = 0;  // ws the mapping broadcasts; 0 = a StyleGAN2 teacher's at this side, 2·log2(R) − 2
  int64_t num_ws = 0;          // ws the synthesis reads; 0 = what its layers read (head_ws above)
  std::vector<int64_t> channels;
  std::string conv = "depthwise";
  std::optional<std::string> first_conv;  // the 4x4 conv's kind when it differs (MobileStyleGAN: full)
  std::string upsample = "haar";
  std::string final_upsample = "haar";
  std::string head_ws = "shared";
  std::optional<double> conv_clamp;

  int64_t num_levels() const;
  static int64_t level_resolution(int64_t level) { return int64_t{4} << level; }
  int64_t head_scale() const { return final() == FinalUpsample::none ? 1 : 2; }  // RGB side / level side
  int64_t num_convs() const { return 2 * num_levels() - 1; }
  int64_t layer_num_ws() const { return num_convs() + (head_ws == "shared" ? 1 : num_levels()); }
  int64_t synthesis_num_ws() const { return num_ws > 0 ? num_ws : layer_num_ws(); }
  int64_t mapping_num_ws() const;
  StudentConv conv_at(int64_t level) const;
  LevelUpsample level_upsample() const;
  FinalUpsample final() const;

  template <class V>
  void visit(V& v) {
    v("name", name);
    v("resolution", resolution, {.help = "output side (power of two)", .min = 8});
    v("img_channels", img_channels, {.help = "image channels", .min = 1});
    v("z_dim", z_dim, {.help = "latent z size of the mapping network", .min = 1});
    v("w_dim", w_dim, {.help = "w size (the teacher's)", .min = 1});
    v("mapping_layers", mapping_layers, {.help = "layers of the teacher-shaped mapping network (0 = none)", .min = 0});
    v("mapping_lr_multiplier", mapping_lr_multiplier, {.help = "learning-rate multiplier of the mapping", .min = 0.0});
    v("w_avg_beta", w_avg_beta, {.help = "decay of the mapping's tracked mean w", .min = 0.0, .max = 1.0});
    v("teacher_num_ws", teacher_num_ws,
      {.help = "ws the mapping broadcasts, the teacher's num_ws (0 = 2·log2(resolution) − 2)", .min = 0});
    v("num_ws", num_ws, {.help = "ws the synthesis reads from the front of W+ (0 = what its layers read)", .min = 0});
    v("channels", channels,
      {.help = "feature channels of each level, 4x4 first", .min = 1, .required = true, .min_items = 1});
    v("conv", conv,
      {.help = "depthwise (MobileStyleGAN's weight-demodulated depthwise-separable conv) or full (NVlabs')",
       .choices = {"depthwise", "full"}});
    v("first_conv", first_conv,
      {.help = "kind of the 4x4 conv when it differs from `conv`", .choices = {"depthwise", "full"}});
    v("upsample", upsample,
      {.help = "between levels: haar (inverse DWT, C -> C/4), transposed (up=2 first conv) or bilinear",
       .choices = {"haar", "transposed", "bilinear"}});
    v("final_upsample", final_upsample,
      {.help = "none (last level at the output side) or the heads' x2: haar (IDWT of 4C) or pixel_shuffle",
       .choices = {"none", "haar", "pixel_shuffle"}});
    v("head_ws", head_ws,
      {.help = "shared (a head reads the next conv's w, NVlabs) or separate (its own w, MobileStyleGAN)",
       .choices = {"shared", "separate"}});
    v("conv_clamp", conv_clamp, {.help = "clamp conv and head outputs to +-value", .min = 0.0});
  }
};

struct OptionsProblem {
  std::string key;  // relative to the section: "channels", "num_ws", …
  std::string message;
};
// The first reason the options cannot build a student, if any.
std::optional<OptionsProblem> find_problem(const BlazeStyleGanOptions& options);

// Throws ConfigError at the offending key (path + "." + key) for find_problem's reason.
void validate(const BlazeStyleGanOptions& options, const ConfigNode& section, const std::string& path);

}  // namespace loom

#pragma once
// Hyperparameters of the GAN-inversion encoder (model `mobilenet_v2_encoder`): a truncated torchvision
// MobileNetV2 (mobilenet_v2.h) whose stage outputs feed pSp's FPN and GradualStyleBlocks (style_head.h).
//
// Taps: c1 and c2 are the outputs of stages tap_stages[0] and tap_stages[1] (0 = the stem conv), c3 the
// output of the last kept stage. Styles 0 .. coarse_ws-1 read c3, the next middle_ws read
// p2 = up(c3) + latlayer1(c2), the rest p1 = up(p2) + latlayer2(c1): pSp's 3 / 4 / rest split, which
// for 12 ws is 3 / 4 / 5. A level left without ws (num_ws <= coarse_ws + middle_ws) is not built.
//
// Defaults are the 256 preset's design (configs/encoder/models/mobilenet_v2_encoder_256.yaml), sized
// to MediaPipe's face-stylizer encoder (1.44 M parameters, 0.60 G MACs, stylegan.md §1.3). A whole
// MobileNetV2 spends its parameters at low resolution (3.4 M, 0.39 G at 256), so the count forces the
// opposite: width 1.0 (torchvision's ImageNet file loads) cut after stage 3 (stride 8, 55 k
// parameters), taps at strides 2 / 4 / 8, and the head's 12 blocks of 42 channels run at 128 / 64 / 32.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/config/config_schema.h"

namespace loom {

struct MobileNetV2EncoderOptions {
  std::string name = "mobilenet_v2_encoder";
  int64_t resolution = 256;  // input side, a power of two
  int64_t num_ws = 12;
  int64_t w_dim = 512;
  double width_mult = 1.0;
  int64_t stages = 3;                     // inverted-residual stages kept, of torchvision's 7
  std::vector<int64_t> tap_stages{1, 2};  // c1, c2 (0 = the stem)
  int64_t head_channels = 42;             // width of every GradualStyleBlock
  int64_t coarse_ws = 3;                  // styles from c3
  int64_t middle_ws = 4;                  // styles from p2; the rest from p1
  bool progressive = false;               // e4e: w0 everywhere plus `stage` deltas
  std::string backbone_weights;           // torchvision mobilenet_v2 state dict; empty = random backbone

  // Styles per level (c3, p2, p1) after the split above.
  std::vector<int64_t> level_ws() const;

  template <class V>
  void visit(V& v) {
    v("name", name);
    v("resolution", resolution, {.help = "input image side (power of two)", .min = 8});
    v("num_ws", num_ws, {.help = "rows of W+ the encoder predicts", .min = 1});
    v("w_dim", w_dim, {.help = "w size (the generator's)", .min = 1});
    v("width_mult", width_mult,
      {.help = "MobileNetV2 width multiplier (1.0: torchvision's ImageNet weights)", .min = 0.01});
    v("stages", stages, {.help = "inverted-residual stages kept (torchvision has 7)", .min = 1, .max = 7});
    v("tap_stages", tap_stages,
      {.help = "stages whose outputs are c1 and c2 (0 = stem); c3 is the last kept stage", .min = 0});
    v("head_channels", head_channels, {.help = "channels of the GradualStyleBlocks", .min = 1});
    v("coarse_ws", coarse_ws, {.help = "styles read from c3 (pSp: 3)", .min = 1});
    v("middle_ws", middle_ws, {.help = "styles read from p2 (pSp: 4); the rest read p1", .min = 1});
    v("progressive", progressive, {.help = "e4e: w0 broadcast plus per-row deltas, enabled by stage"});
    v("backbone_weights", backbone_weights,
      {.help = "torchvision mobilenet_v2 state dict (.pth zip or safetensors); empty = random backbone"});
  }
};

struct EncoderOptionsProblem {
  std::string key;  // relative to the section
  std::string message;
};
std::optional<EncoderOptionsProblem> find_problem(const MobileNetV2EncoderOptions& options);

// Throws ConfigError at path + "." + key for find_problem's reason.
void validate(const MobileNetV2EncoderOptions& options, const ConfigNode& section, const std::string& path);

}  // namespace loom

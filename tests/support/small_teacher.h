#pragma once
// The small models of the BlazeStyleGAN and export tests: the teacher, StyleGAN2 at 32x32 with 16
// channels, w_dim 16 and a 2-layer mapping (8 ws); and its students, 32x32 with w_dim 16, no mapping,
// in any conv / upsample / final_upsample setting; and an inversion encoder for a student.
#include <string>
#include <vector>

#include "models/blazestylegan/blazestylegan_options.h"
#include "models/encoder/mobilenet_v2_encoder_options.h"
#include "models/stylegan2/stylegan2_options.h"

namespace loom::test {

inline StyleGan2Options small_teacher() {
  StyleGan2Options t;
  t.resolution = 32;
  t.z_dim = 16;
  t.w_dim = 16;
  t.channel_base = 256;
  t.channel_max = 16;
  t.mapping_layers = 2;
  return t;
}

inline BlazeStyleGanOptions small_student(const std::string& conv, const std::string& upsample,
                                          const std::string& final_upsample) {
  BlazeStyleGanOptions o;
  o.resolution = 32;
  o.w_dim = 16;
  o.z_dim = 16;
  o.mapping_layers = 0;
  o.conv = conv;
  o.upsample = upsample;
  o.final_upsample = final_upsample;
  o.channels = final_upsample == "none" ? std::vector<int64_t>{16, 16, 8, 8} : std::vector<int64_t>{16, 16, 8};
  return o;
}

// A quarter-width MobileNetV2 encoder predicting `num_ws` ws of `student` (pSp, or e4e's progressive).
inline MobileNetV2EncoderOptions small_encoder(const BlazeStyleGanOptions& student, int64_t num_ws,
                                               bool progressive = false) {
  MobileNetV2EncoderOptions e;
  e.resolution = student.resolution;
  e.w_dim = student.w_dim;
  e.num_ws = num_ws;
  e.width_mult = 0.25;
  e.head_channels = 8;
  e.progressive = progressive;
  return e;
}

}  // namespace loom::test

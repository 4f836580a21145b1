#pragma once
// The teacher of the small students in the BlazeStyleGAN tests: StyleGAN2 at 32x32 with 16 channels,
// w_dim 16 and a 2-layer mapping (8 ws).
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

}  // namespace loom::test

#include "models/register.h"

#include "models/blazestylegan/blazestylegan.h"
#include "models/classifier/convnet.h"
#include "models/clip/clip.h"
#include "models/clip/siglip.h"
#include "models/encoder/mobilenet_v2_encoder.h"
#include "models/stylegan2/stylegan2.h"

namespace loom {

void register_models() {
  register_blazestylegan_models();
  register_classifier_models();
  register_clip_models();
  register_encoder_models();
  register_siglip_models();
  register_stylegan2_models();
}

}  // namespace loom

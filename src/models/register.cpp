#include "models/register.h"

#include "models/classifier/convnet.h"
#include "models/clip/clip.h"

namespace loom {

void register_models() { register_classifier_models(); register_clip_models(); }

}  // namespace loom

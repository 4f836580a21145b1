#include "models/register.h"

#include "models/classifier/convnet.h"

namespace loom {

void register_models() { register_classifier_models(); }

}  // namespace loom

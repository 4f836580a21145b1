#include "train/recipes/register.h"

#include "train/recipes/classify.h"
#include "train/recipes/clip.h"

namespace loom {

void register_recipes() {
  register_classify_recipe();
  register_clip_recipe();
}

}  // namespace loom

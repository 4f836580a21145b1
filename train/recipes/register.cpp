#include "train/recipes/register.h"

#include "train/recipes/classify.h"

namespace loom {

void register_recipes() { register_classify_recipe(); }

}  // namespace loom

#include "train/recipes/register.h"

#include "train/recipes/classify.h"
#include "train/recipes/clip.h"
#include "train/recipes/distill.h"
#include "train/recipes/encoder.h"
#include "train/recipes/fewshot.h"
#include "train/recipes/stylegan2.h"

namespace loom {

void register_recipes() {
  register_classify_recipe();
  register_clip_recipe();
  register_distill_recipe();
  register_encoder_recipe();
  register_fewshot_recipe();
  register_stylegan2_recipe();
}

}  // namespace loom

#pragma once
// Recipe `clip`: image–text contrastive pretraining of an image–text model (CLIP or SigLIP towers) with
// InfoNCE, SigLIP or the RO-ViT focal loss (the `loss` section), evaluated by zero-shot classification
// and image↔text retrieval recall@K on the validation data and the `eval:` section's benchmark sources
// (eval/image_text_evaluation.h).
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config/config_schema.h"
#include "eval/image_text_evaluation.h"
#include "train/components.h"
#include "train/recipe.h"

namespace loom {

class ImageTextModel;
class ContrastiveLoss;

struct ClipRecipeOptions {
  std::string name = "clip";
  bool ema = false;  // keep and evaluate an EMA copy of the model (speed: train.ema)

  template <class V>
  void visit(V& v) {
    v("name", name);
    v("ema", ema, {.help = "keep and evaluate an EMA copy of the model (speed: train.ema)"});
  }
};

// The `data:` section: image–caption training data (tensor "image", text "caption") and validation
// data that also has class labels (for zero-shot) — e.g. caption_table or synthetic_scenes.
struct ClipDataOptions {
  ConfigNode train;
  std::optional<ConfigNode> val;

  template <class V>
  void visit(V& v) {
    v("train", train, {.help = "image-caption training dataset", .required = true});
    v("val", val, {.help = "evaluation dataset (captions for retrieval, labels and classes for zero-shot)"});
  }
};

class ClipRecipe : public Recipe {
 public:
  explicit ClipRecipe(const ConfigNode& config);
  std::vector<std::string> sections() const override { return sections_.keys(); }
  TrainSetup setup(const RecipeContext& context) override;
  Scalars evaluate(const EvalContext& context) override;

 private:
  RecipeSections sections_;  // first: the options below are read from it
  ClipRecipeOptions options_;
  ClipDataOptions data_;
  eval::ImageTextEvalOptions eval_;
  std::shared_ptr<ImageTextModel> model_, ema_;
  std::shared_ptr<ContrastiveLoss> loss_;
  std::unique_ptr<eval::ImageTextEvaluation> evaluation_;
};

void register_clip_recipe();

}  // namespace loom

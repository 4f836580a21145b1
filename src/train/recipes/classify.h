#pragma once
// Recipe `classify`: supervised image classification with cross-entropy, one phase. The quickstart's
// recipe, and the simplest complete use of the trainer.
#include <memory>
#include <optional>
#include <string>

#include "core/config/config_schema.h"
#include "train/components.h"
#include "train/recipe.h"

namespace loom {

class ImageClassifier;

struct ClassifyOptions {
  std::string name = "classify";
  double label_smoothing = 0.0;
  bool ema = false;  // also keep (and evaluate) a moving average of the weights

  template <class V>
  void visit(V& v) {
    v("name", name);
    v("label_smoothing", label_smoothing, {.help = "cross-entropy label smoothing", .min = 0.0, .max = 1.0});
    v("ema", ema, {.help = "keep and evaluate an EMA copy of the model (speed: train.ema)"});
  }
};

// The `data:` section of classification recipes.
struct ClassifyDataOptions {
  ConfigNode train;               // a dataset section (name + options), see `loom list`
  std::optional<ConfigNode> val;  // evaluated at the eval cadence when given
  int64_t eval_batch_size = 256;
  int64_t eval_workers = 2;

  template <class V>
  void visit(V& v) {
    v("train", train, {.help = "training dataset", .required = true});
    v("val", val, {.help = "validation dataset"});
    v("eval_batch_size", eval_batch_size, {.help = "batch size of evaluation", .min = 1});
    v("eval_workers", eval_workers, {.help = "decoding threads of evaluation", .min = 0});
  }
};

class ClassifyRecipe : public Recipe {
 public:
  explicit ClassifyRecipe(const ConfigNode& config);
  std::vector<std::string> sections() const override { return sections_.keys(); }
  TrainSetup setup(const RecipeContext& context) override;
  Scalars evaluate(const EvalContext& context) override;

 private:
  RecipeSections sections_;  // first: the options below are read from it
  ClassifyOptions options_;
  ClassifyDataOptions data_;
  std::shared_ptr<ImageClassifier> model_, ema_;
  std::shared_ptr<const data::Dataset> val_;
  uint64_t seed_ = 0;
};

void register_classify_recipe();

}  // namespace loom

#pragma once
// Recipe `clip`: image–text contrastive pretraining of the CLIP towers (InfoNCE, SigLIP or the RO-ViT
// focal loss, chosen by the `loss` section), evaluated by zero-shot classification (class names ×
// prompt templates) and image↔text retrieval recall@K on the validation data.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config/config_schema.h"
#include "train/components.h"
#include "train/recipe.h"

namespace loom {

class Clip;
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

// The `eval:` section.
struct ClipEvalOptions {
  std::vector<std::string> templates{"a photo of a {}.", "a {}.", "an image of a {}.", "a picture of a {}."};
  std::vector<int64_t> recall_at{1, 5, 10};
  int64_t batch_size = 256;
  int64_t workers = 2;
  int64_t max_samples = 0;  // 0 = the whole validation set (retrieval is O(N²) in memory)

  template <class V>
  void visit(V& v) {
    v("templates", templates, {.help = "zero-shot prompt templates; {} is the class name"});
    v("recall_at", recall_at, {.help = "K values of retrieval recall@K", .min = 1});
    v("batch_size", batch_size, {.help = "evaluation batch size", .min = 1});
    v("workers", workers, {.help = "decoding threads of evaluation", .min = 0});
    v("max_samples", max_samples, {.help = "evaluate on at most this many samples (0 = all)", .min = 0});
  }
};

class ClipRecipe : public Recipe {
 public:
  explicit ClipRecipe(const ConfigNode& config);
  std::vector<std::string> sections() const override { return sections_.keys(); }
  TrainSetup setup(const RecipeContext& context) override;
  Scalars evaluate(const EvalContext& context) override;

 private:
  Scalars evaluate_model(Clip& model, c10::Device device, const std::string& prefix);

  RecipeSections sections_;  // first: the options below are read from it
  ClipRecipeOptions options_;
  ClipDataOptions data_;
  ClipEvalOptions eval_;
  std::shared_ptr<Clip> model_, ema_;
  std::shared_ptr<ContrastiveLoss> loss_;
  std::shared_ptr<const data::Dataset> val_;
  uint64_t seed_ = 0;
};

void register_clip_recipe();

}  // namespace loom

#include "train/recipes/classify.h"

#include <ATen/ops/cross_entropy_loss.h>
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include "core/config/config_error.h"
#include "core/registry/registries.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "models/classifier/image_classifier.h"
#include "train/components.h"

namespace loom {

namespace {

at::Tensor loss_of(ImageClassifier& model, const data::Batch& batch, double label_smoothing,
                   at::Tensor* logits_out = nullptr) {
  at::Tensor logits = model.classify(batch.at("image"));
  if (logits_out) *logits_out = logits;
  return at::cross_entropy_loss(logits.to(at::kFloat), batch.at("label"), {}, at::Reduction::Mean, -100,
                                label_smoothing);
}

// Top-1 accuracy and mean loss over one pass of `dataset`.
Scalars accuracy(ImageClassifier& model, std::shared_ptr<const data::Dataset> dataset,
                 const ClassifyDataOptions& options, c10::Device device, uint64_t seed, const std::string& prefix) {
  double loss_sum = 0;
  int64_t correct = 0;
  const int64_t count = eval::for_each_eval_batch(
      std::move(dataset), {.batch_size = options.eval_batch_size, .workers = options.eval_workers, .seed = seed},
      device, [&](const data::Batch& batch) {
        at::Tensor logits;
        loss_sum += loss_of(model, batch, 0.0, &logits).item<double>() * static_cast<double>(batch.size());
        correct += logits.argmax(1).eq(batch.at("label")).sum().item<int64_t>();
      });
  if (count == 0) return {};
  return {{prefix + "/accuracy", static_cast<double>(correct) / static_cast<double>(count)},
          {prefix + "/loss", loss_sum / static_cast<double>(count)}};
}

}  // namespace

ClassifyRecipe::ClassifyRecipe(const ConfigNode& config)
    : sections_(config, {{"model"}, {"data"}, {"optimizer"}, {"schedule", false}}),
      options_(sections_.read<ClassifyOptions>("recipe")),
      data_(sections_.read<ClassifyDataOptions>("data")) {}

TrainSetup ClassifyRecipe::setup(const RecipeContext& context) {
  seed_ = context.seed;
  TrainSetup setup;
  setup.train_data = make_dataset(data_.train, "data.train");
  if (data_.val) val_ = make_dataset(*data_.val, "data.val");
  model_ = make_model<ImageClassifier>(sections_.at("model"), "model", "this model is not an image classifier");
  auto classes = static_cast<int64_t>(setup.train_data->classes().size());
  if (classes > 0 && classes != model_->num_classes())
    throw ConfigError(cat("model.num_classes is ", model_->num_classes(), " but data.train has ", classes, " classes (",
                          setup.train_data->describe(), ")"));
  if (options_.ema)
    ema_ = make_model<ImageClassifier>(sections_.at("model"), "model", "this model is not an image classifier");
  add_model(setup, model_, ema_, context.device);
  add_main_phase(setup, *model_, sections_.at("optimizer"), sections_.at("schedule"),
                 [this](const data::Batch& batch, const StepInfo&) {
                   at::Tensor logits;
                   at::Tensor loss = loss_of(*model_, batch, options_.label_smoothing, &logits);
                   at::Tensor accuracy = logits.detach().argmax(1).eq(batch.at("label")).to(at::kFloat).mean();
                   return LossOutput{loss, {{"accuracy", accuracy}}};
                 });
  return setup;
}

Scalars ClassifyRecipe::evaluate(const EvalContext& context) {
  if (!val_) return {};
  return with_ema_metrics(*model_, ema_.get(), [&](ImageClassifier& model, const std::string& prefix) {
    return accuracy(model, val_, data_, context.device, seed_, prefix);
  });
}

void register_classify_recipe() {
  recipe_registry().add(
      "classify", [](const ConfigNode& config) { return std::make_shared<ClassifyRecipe>(config); },
      "supervised image classification (cross-entropy; optional EMA)");
}

}  // namespace loom

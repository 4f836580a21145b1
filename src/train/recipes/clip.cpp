#include "train/recipes/clip.h"

#include <ATen/ops/cat.h>
#include <ATen/ops/matmul.h>
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include "core/registry/registries.h"
#include "data/clip_tokenizer.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "eval/retrieval.h"
#include "eval/zero_shot.h"
#include "losses/loss.h"
#include "models/clip/clip.h"
#include "train/components.h"
#include "train/distributed/all_gather.h"

namespace loom {

namespace {

at::Tensor tokens_of(const Clip& model, const std::vector<std::string>& captions, c10::Device device) {
  return data::ClipTokenizer::shared().tokenize(captions, model.options().text.context_length).to(device);
}

const std::vector<std::string>& captions_of(const data::Batch& batch) {
  auto it = batch.text.find("caption");
  if (it == batch.text.end())
    throw UserError("clip recipe: the dataset gives no 'caption' text (use caption_table or synthetic_scenes)");
  return it->second;
}

}  // namespace

ClipRecipe::ClipRecipe(const ConfigNode& config)
    : sections_(config, {{"model"}, {"data"}, {"loss"}, {"optimizer"}, {"schedule", false}, {"eval", false}}),
      options_(sections_.read<ClipRecipeOptions>("recipe")),
      data_(sections_.read<ClipDataOptions>("data")),
      eval_(sections_.read<ClipEvalOptions>("eval")) {}

TrainSetup ClipRecipe::setup(const RecipeContext& context) {
  seed_ = context.seed;
  TrainSetup setup;
  setup.train_data = make_dataset(data_.train, "data.train");
  if (data_.val) val_ = make_dataset(*data_.val, "data.val");
  const char* not_clip = "the clip recipe needs a CLIP model (model.name: clip)";
  model_ = make_model<Clip>(sections_.at("model"), "model", not_clip);
  if (options_.ema) ema_ = make_model<Clip>(sections_.at("model"), "model", not_clip);
  add_model(setup, model_, ema_, context.device);
  const ConfigNode& loss_section = sections_.at("loss");
  loss_ = std::dynamic_pointer_cast<ContrastiveLoss>(make_loss(loss_section, "loss"));
  if (!loss_)
    fail_config(loss_section, "loss.name",
                "the clip recipe needs a contrastive loss (clip, siglip, focal_contrastive)");
  auto loss = [this, device = context.device, group = context.group](const data::Batch& batch, const StepInfo&) {
    at::Tensor image = model_->encode_image(batch.at("image"), true);
    at::Tensor text = model_->encode_text(tokens_of(*model_, captions_of(batch), device), true);
    if (group) {  // the loss sees every rank's pairs (open_clip ClipLoss gather_with_grad)
      image = all_gather_with_grad(*group, image);
      text = all_gather_with_grad(*group, text);
    }
    at::Tensor scale = model_->logit_scale_value();
    at::Tensor value = loss_->forward(image.to(at::kFloat), text.to(at::kFloat), scale, model_->logit_bias_value());
    return LossOutput{value, {{"logit_scale", scale.detach()}}};
  };
  add_main_phase(setup, *model_, sections_.at("optimizer"), sections_.at("schedule"), std::move(loss));
  return setup;
}

Scalars ClipRecipe::evaluate_model(Clip& model, c10::Device device, const std::string& prefix) {
  std::vector<at::Tensor> images, texts, labels;
  const EvalPass pass{
      .batch_size = eval_.batch_size, .workers = eval_.workers, .seed = seed_, .limit = eval_.max_samples};
  for_each_eval_batch(val_, pass, device, [&](const data::Batch& batch) {
    images.push_back(model.encode_image(batch.at("image"), true).to(at::kFloat).cpu());
    auto captions = batch.text.find("caption");
    if (captions != batch.text.end())
      texts.push_back(model.encode_text(tokens_of(model, captions->second, device), true).to(at::kFloat).cpu());
    if (batch.tensors.count("label")) labels.push_back(batch.at("label").cpu());
  });
  Scalars out;
  if (images.empty()) return out;
  at::Tensor image = at::cat(images);
  const int64_t n = image.size(0);
  if (!texts.empty()) {
    Scalars r = eval::retrieval_recall(image, at::cat(texts).narrow(0, 0, n), eval_.recall_at, prefix);
    out.insert(out.end(), r.begin(), r.end());
  }
  std::vector<std::string> classes = val_->classes();
  if (!labels.empty() && !classes.empty()) {
    eval::TextEncoder encode = [&](const std::vector<std::string>& prompts) {
      return model.encode_text(tokens_of(model, prompts, device), true).to(at::kFloat).cpu();
    };
    at::Tensor classifier = eval::zero_shot_classifier(encode, classes, eval_.templates);
    Scalars z = eval::topk_accuracy(at::matmul(image, classifier.t()), at::cat(labels).narrow(0, 0, n), {1, 5},
                                    prefix + "/zero_shot");
    out.insert(out.end(), z.begin(), z.end());
    out.emplace_back(prefix + "/zero_shot/chance", 1.0 / static_cast<double>(classes.size()));
  }
  return out;
}

Scalars ClipRecipe::evaluate(const EvalContext& context) {
  if (!val_) return {};
  return with_ema_metrics(*model_, ema_.get(), [&](Clip& model, const std::string& prefix) {
    return evaluate_model(model, context.device, prefix);
  });
}

void register_clip_recipe() {
  recipe_registry().add(
      "clip", [](const ConfigNode& config) { return std::make_shared<ClipRecipe>(config); },
      "image-text contrastive pretraining (InfoNCE / SigLIP / focal); zero-shot and retrieval evaluation");
}

}  // namespace loom

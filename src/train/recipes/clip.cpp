#include "train/recipes/clip.h"

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include "core/registry/registries.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "eval/model_inputs.h"
#include "losses/loss.h"
#include "models/clip/image_text_model.h"
#include "train/components.h"
#include "train/distributed/all_gather.h"

namespace loom {

namespace {

at::Tensor tokens_of(const ImageTextModel& model, const std::vector<std::string>& captions, c10::Device device) {
  return eval::make_text_tokenizer(model.tokenizer(), "model.text.tokenizer")
      ->tokenize(captions, model.context_length())
      .to(device);
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
      eval_(sections_.read<eval::ImageTextEvalOptions>("eval")) {}

TrainSetup ClipRecipe::setup(const RecipeContext& context) {
  TrainSetup setup;
  setup.train_data = make_dataset(data_.train, "data.train");
  const char* not_clip = "the clip recipe needs an image-text model (model.name: clip or siglip)";
  model_ = make_model<ImageTextModel>(sections_.at("model"), "model", not_clip);
  if (options_.ema) ema_ = make_model<ImageTextModel>(sections_.at("model"), "model", not_clip);
  evaluation_ = std::make_unique<eval::ImageTextEvaluation>(
      *model_, eval_, data_.val ? make_dataset(*data_.val, "data.val") : nullptr, context.seed);
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

Scalars ClipRecipe::evaluate(const EvalContext& context) {
  if (evaluation_->empty()) return {};
  return with_ema_metrics(*model_, ema_.get(), [&](ImageTextModel& model, const std::string& prefix) {
    return evaluation_->run(model, context.device, prefix);
  });
}

void register_clip_recipe() {
  recipe_registry().add(
      "clip", [](const ConfigNode& config) { return std::make_shared<ClipRecipe>(config); },
      "image-text contrastive pretraining (InfoNCE / SigLIP / focal); zero-shot and retrieval evaluation");
}

}  // namespace loom

#pragma once
// Recipe `encoder`: a GAN-inversion encoder (model mobilenet_v2_encoder) trained through a frozen
// generator, a StyleGAN2 teacher or a distilled student, as pSp and e4e train theirs
// (pixel2style2pixel training/coach.py, encoder4editing training/coach.py):
//   W+ = E(x) + w_avg;  x̂ = G(W+) (constant noise, so an inversion does not depend on a draw);
//   loss = l2·MSE(x̂, x) + lpips·LPIPS(x̂, x) + w_norm·mean_batch ‖W+ − w_avg‖_F (pSp's W-norm)
//          [+ w_l2·MSE(W+, W+_true) on generated images, whose codes are known]
//          [+ delta_norm·Σ_{i ≤ stage} mean_batch ‖w_i − w_0‖₂, e4e's delta regulariser, progressive models].
// Progressive (model.progressive: true): e4e's schedule, stage 0 (w_0 everywhere) until step
// progressive_start, then one more delta every progressive_step_every steps; 0 = every delta at once.
// Images: data.train (aligned faces in [0, 1]) or, with train_on: generated, the generator's own
// samples. Evaluation on held-out images (data.eval, else fixed generated ones): LPIPS, L2 (MSE of
// [-1, 1] images), PSNR (of [0, 1] images, per image, averaged); grids input | reconstruction.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/config/config_schema.h"
#include "losses/perceptual/perceptual_loss.h"
#include "models/pretrained_image_generator.h"
#include "train/components.h"
#include "train/recipe.h"

namespace loom {

class MobileNetV2Encoder;

struct EncoderRecipeOptions {
  std::string name = "encoder";
  std::string generator;  // a stylegan2 or distill run folder, checkpoint or weight file
  std::string train_on = "data";
  double l2 = 1.0, lpips = 0.8, w_norm = 0.0, w_l2 = 0.0;  // pSp's l2_lambda, lpips_lambda, w_norm_lambda
  double delta_norm = 2e-4;                                // e4e's delta_norm_lambda
  int64_t progressive_start = 0, progressive_step_every = 0;
  double truncation_psi = 1.0;  // of generated training images
  PerceptualLossOptions perceptual_loss;

  template <class V>
  void visit(V& v) {
    v("name", name);
    v("generator", generator, {.help = "the frozen generator: a stylegan2 or distill run folder, checkpoint or file"});
    v("train_on", train_on,
      {.help = "data: data.train images; generated: the generator's samples (their W+ known)",
       .choices = {"data", "generated"}});
    v("l2", l2, {.help = "weight of the pixel MSE (pSp 1.0)", .min = 0.0});
    v("lpips", lpips, {.help = "weight of the perceptual distance (pSp 0.8)", .min = 0.0});
    v("w_norm", w_norm, {.help = "weight of pSp's W-norm ||W+ - w_avg|| (0 = off)", .min = 0.0});
    v("w_l2", w_l2, {.help = "train_on generated: weight of the MSE to the true W+ (0 = off)", .min = 0.0});
    v("delta_norm", delta_norm, {.help = "progressive models: weight of e4e's delta regulariser", .min = 0.0});
    v("progressive_start", progressive_start, {.help = "progressive: the step the first delta starts", .min = 0});
    v("progressive_step_every", progressive_step_every,
      {.help = "progressive: steps between deltas (0 = all deltas from the start)", .min = 0});
    v("truncation_psi", truncation_psi, {.help = "truncation of generated training images"});
    v("perceptual_loss", perceptual_loss, {.help = "the perceptual distance (LPIPS)"});
  }
};

struct EncoderDataOptions {
  ConfigNode train, eval;

  template <class V>
  void visit(V& v) {
    v("train", train, {.help = "aligned face images in [0, 1] (train_on: data)"});
    v("eval", eval, {.help = "held-out images for the reconstruction scores (default: generated ones)"});
  }
};

struct EncoderEvalOptions {
  int64_t num_images = 64;
  int64_t batch_size = 16;
  int64_t grid_images = 8;
  PerceptualLossOptions perceptual;

  template <class V>
  void visit(V& v) {
    v("num_images", num_images, {.help = "held-out images reconstructed per evaluation", .min = 1});
    v("batch_size", batch_size, {.help = "evaluation batch size", .min = 1});
    v("grid_images", grid_images, {.help = "images in the input | reconstruction grid", .min = 1});
    v("perceptual", perceptual, {.help = "the perceptual distance of the scores (LPIPS)"});
  }
};

class EncoderRecipe : public Recipe {
 public:
  explicit EncoderRecipe(const ConfigNode& config);
  std::vector<std::string> sections() const override { return sections_.keys(); }
  TrainSetup setup(const RecipeContext& context) override;
  Scalars evaluate(const EvalContext& context) override;
  void write_samples(const EvalContext& context) override;
  void load_weight_file(const TrainSetup& setup, const std::filesystem::path& path) override;

  // e4e's stage at `step`: -1 (every delta) unless progressive.
  int64_t stage(int64_t step) const;

 private:
  struct Pair {
    at::Tensor images, ws;  // [-1, 1]; the true W+ for generated images (undefined for data)
  };
  Pair training_pair(const data::Batch& batch);
  // The evaluation images (data.eval, else generated from fixed latents), `limit` of them, in batches.
  void for_each_held_out(c10::Device device, int64_t limit, int64_t batch_size,
                         const std::function<void(const Pair&)>& each);
  at::Tensor generate(const at::Tensor& ws) const;
  LossOutput loss(const data::Batch& batch, const StepInfo& info);

  RecipeSections sections_;
  EncoderRecipeOptions options_;
  EncoderDataOptions data_;
  EncoderEvalOptions eval_;
  PretrainedImageGenerator generator_;
  std::shared_ptr<MobileNetV2Encoder> encoder_;
  PerceptualLoss perceptual_{nullptr}, eval_perceptual_{nullptr};
  std::shared_ptr<const data::Dataset> eval_data_;
  bool range_checked_ = false;
  uint64_t seed_ = 0;
};

void register_encoder_recipe();

}  // namespace loom

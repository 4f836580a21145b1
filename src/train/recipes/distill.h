#pragma once
// Recipe `distill`: a StyleGAN2 teacher (frozen) distilled into a BlazeStyleGAN student, as the public
// StyleGAN2 distillations do it (MobileStyleGAN core/distiller.py, Anycost GAN tools/train_gan.py,
// Content-Aware GAN Compression train.py; BlazeStyleGAN's multi-scale loss over its per-level heads):
//   S phase: student and teacher get the same W+ and the same noise maps; every chosen student level's
//            RGB is compared with the target of that size by pixel L1 and L2 and the perceptual loss,
//            plus the non-saturating GAN loss of the final image.
//   D phase: logistic loss, real = teacher samples (data_free) or training images (data), fake =
//            student images, both through DiffAugment or ADA; lazy R1 on the non-augmented reals.
// Every term has a weight (0 switches it off), so each ablation is one override. Evaluation: FID/KID of
// the student against teacher samples and against data, LPIPS(student, teacher) on fixed latents;
// teacher | student grids side by side.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/config/config_schema.h"
#include "eval/metrics/feature_extractor.h"
#include "losses/perceptual/perceptual_loss.h"
#include "models/stylegan2/generator.h"
#include "models/stylegan2/stylegan2_options.h"
#include "nn/ada_controller.h"
#include "nn/augment_pipe.h"
#include "nn/diff_augment.h"
#include "train/components.h"
#include "train/recipe.h"
#include "train/recipes/adaptive_augment.h"

namespace loom {

class BlazeStyleGan;
class DiscriminatorImpl;

struct DistillRecipeOptions {
  std::string name = "distill";
  std::string teacher;       // a stylegan2 run folder, checkpoint or weight file (NVlabs layout)
  ConfigNode teacher_model;  // the teacher's model section where its file does not carry one
  std::string mode = "data_free";
  std::string target = "downsampled";
  std::vector<int64_t> levels;  // RGB sides of the levels the pixel and perceptual terms use; empty = all
  std::string perceptual_levels = "all";
  double l1 = 1, l2 = 1, perceptual = 1, adversarial = 0.5;  // MobileStyleGAN's loss_weights
  // MobileStyleGAN's style sampling (stylemix_p [0.1, 0.7]): one w (the rest), two ws mixed at a random
  // layer, or an independent w per layer.
  double mixed_styles = 0.6, per_layer_styles = 0.1;
  double truncation_psi = 1.0;
  double r1_gamma = 10;
  int64_t d_reg_interval = 16;
  std::string augment = "diffaugment";
  std::string diffaugment = "color,translation,cutout";
  nn::AugmentPipeOptions ada_pipe;
  nn::AdaOptions ada;
  std::string d_init = "teacher";
  bool ema = true;
  PerceptualLossOptions perceptual_loss;

  template <class V>
  void visit(V& v) {
    v("name", name);
    v("teacher", teacher, {.help = "teacher generator: a stylegan2 run folder, checkpoint or weight file"});
    v("teacher_model", teacher_model, {.help = "the teacher's model section (when its file carries none)"});
    v("mode", mode,
      {.help = "data_free: teacher samples are D's reals; data: data.train images are",
       .choices = {"data_free", "data"}});
    v("target", target,
      {.help = "per-level targets: the teacher image downsampled, or the teacher's own per-level RGB",
       .choices = {"downsampled", "teacher_levels"}});
    v("levels", levels, {.help = "RGB sides of the student levels the losses use (empty = every level)"});
    v("perceptual_levels", perceptual_levels,
      {.help = "perceptual term on every chosen level or the final image only", .choices = {"all", "final"}});
    v("l1", l1, {.help = "weight of the per-level pixel L1 (0 = off)", .min = 0.0});
    v("l2", l2, {.help = "weight of the per-level pixel L2 (0 = off)", .min = 0.0});
    v("perceptual", perceptual, {.help = "weight of the multi-scale perceptual term (0 = off)", .min = 0.0});
    v("adversarial", adversarial, {.help = "weight of the non-saturating GAN loss (0 = off, no D)", .min = 0.0});
    v("mixed_styles", mixed_styles, {.help = "probability of two ws mixed at a random layer", .min = 0.0, .max = 1.0});
    v("per_layer_styles", per_layer_styles,
      {.help = "probability of an independent w per layer", .min = 0.0, .max = 1.0});
    v("truncation_psi", truncation_psi, {.help = "truncation of the training ws (1 = none)"});
    v("r1_gamma", r1_gamma, {.help = "R1 weight on D's reals (0 = off)", .min = 0.0});
    v("d_reg_interval", d_reg_interval, {.help = "R1 every this many steps", .min = 1});
    v("augment", augment, {.help = "augmentation of D's inputs", .choices = {"none", "diffaugment", "ada"}});
    v("diffaugment", diffaugment, {.help = "DiffAugment policies (color,translation,cutout)"});
    v("ada_pipe", ada_pipe, {.help = "the ADA pipeline (augment: ada)"});
    v("ada", ada, {.help = "the ADA probability controller (augment: ada)"});
    v("d_init", d_init,
      {.help = "D starts from the teacher file's D (when it has one) or at random", .choices = {"teacher", "random"}});
    v("ema", ema, {.help = "keep an EMA student (speed: train.ema)"});
    v("perceptual_loss", perceptual_loss, {.help = "the perceptual distance (LPIPS, VGG-L1, VGG19 style)"});
  }
};

// The `data:` section: training images for mode `data`, and optional images FID/KID compare against.
struct DistillDataOptions {
  ConfigNode train, eval;

  template <class V>
  void visit(V& v) {
    v("train", train, {.help = "real images for D (mode: data); [0, 1], no normalize transform"});
    v("eval", eval, {.help = "images the student's FID/KID against data uses (default: data.train)"});
  }
};

struct DistillSampleOptions {
  int64_t count = 8;  // seeds 0 … count−1, the same z as `loom generate seeds=`
  double psi = 1.0;

  template <class V>
  void visit(V& v) {
    v("count", count, {.help = "teacher | student pairs in the grid (seeds 0..count-1)", .min = 1});
    v("psi", psi, {.help = "truncation psi of the samples"});
  }
};

struct DistillEvalOptions {
  int64_t num_fake = 1000;  // student and teacher images, from the same fixed latents
  int64_t num_real = 1000;
  int64_t lpips_samples = 200;
  int64_t batch_size = 32;
  int64_t kid_subsets = 100;
  int64_t kid_subset_size = 1000;
  eval::FeatureExtractorOptions extractor;
  PerceptualLossOptions perceptual;  // the distance to the teacher, whatever the training loss is

  template <class V>
  void visit(V& v) {
    v("num_fake", num_fake, {.help = "generated images per network", .min = 2});
    v("num_real", num_real, {.help = "data images (0 = the whole dataset)", .min = 0});
    v("lpips_samples", lpips_samples, {.help = "fixed latents of the perceptual distance to the teacher", .min = 1});
    v("batch_size", batch_size, {.help = "generation batch size", .min = 1});
    v("kid_subsets", kid_subsets, {.help = "KID subsets (0 = no KID)", .min = 0});
    v("kid_subset_size", kid_subset_size, {.help = "KID subset size", .min = 2});
    v("extractor", extractor, {.help = "FID/KID feature extractor"});
    v("perceptual", perceptual, {.help = "the perceptual distance of student to teacher images (LPIPS)"});
  }
};

class DistillRecipe : public Recipe {
 public:
  explicit DistillRecipe(const ConfigNode& config);
  std::vector<std::string> sections() const override { return sections_.keys(); }
  TrainSetup setup(const RecipeContext& context) override;
  Scalars evaluate(const EvalContext& context) override;
  void write_samples(const EvalContext& context) override;
  void after_step(const StepInfo& info) override;
  std::map<std::string, double> counters() const override;
  void set_counters(const std::map<std::string, double>& counters) override;
  void load_weight_file(const TrainSetup& setup, const std::filesystem::path& path) override;

 private:
  // What the teacher made of one batch, shared by the step's phases (computed once per batch).
  struct Targets {
    at::Tensor key;                  // the batch's first tensor: which batch these belong to
    at::Tensor ws, image;            // the teacher's W+ and final image
    std::vector<at::Tensor> noise;   // the noise maps teacher and student share
    std::vector<at::Tensor> levels;  // for each chosen student level, its target RGB
    at::Tensor student;              // the S phase's final student image, detached (D's fake)
  };
  at::Tensor sample_ws(const at::Tensor& z);  // MobileStyleGAN's single / mixed / per-layer styles
  Targets teacher_targets(const data::Batch& batch);
  LossOutput student_loss(const data::Batch& batch);
  LossOutput discriminator_loss(const data::Batch& batch);
  LossOutput r1_loss(const data::Batch& batch);
  at::Tensor latents(const data::Batch& batch) const;
  at::Tensor real_images(const data::Batch& batch);
  at::Tensor augment(const at::Tensor& images);
  BlazeStyleGan& student_for_output();
  eval::FeatureExtractor& extractor(c10::Device device);

  RecipeSections sections_;
  DistillRecipeOptions options_;
  DistillDataOptions data_;
  DistillSampleOptions sample_;
  DistillEvalOptions eval_;
  std::vector<size_t> chosen_levels_;  // indices into the student's levels
  nn::DiffAugmentPolicy diff_policy_;
  Generator teacher_{nullptr};
  std::shared_ptr<BlazeStyleGan> student_, student_ema_;
  std::shared_ptr<DiscriminatorImpl> discriminator_;
  PerceptualLoss perceptual_{nullptr}, eval_perceptual_{nullptr};
  AdaptiveAugment augment_;
  Targets cached_;
  bool range_checked_ = false;
  std::shared_ptr<const data::Dataset> train_data_, eval_data_;
  std::unique_ptr<eval::FeatureExtractor> extractor_;
  at::Tensor teacher_features_, data_features_;
  Scalars teacher_to_data_;  // the teacher's FID/KID to the data, once both feature sets exist
  uint64_t seed_ = 0;
};

void register_distill_recipe();

}  // namespace loom

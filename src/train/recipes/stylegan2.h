#pragma once
// Recipe `stylegan2`: StyleGAN2 training as NVlabs stylegan2-ada-pytorch runs it (training/loss.py,
// training_loop.py): phases Gmain (non-saturating logistic loss with style mixing), Greg (path-length
// regularisation every g_reg_interval steps), Dmain (logistic loss on fakes and reals) and Dreg (R1 every
// d_reg_interval steps), regularisers scaled by their interval with the lazy-regularisation Adam
// adjustment; an EMA of G; adaptive discriminator augmentation (ADA) on everything D sees. Evaluated
// by FID/KID of the EMA generator against the training images; sample grids from fixed seeds.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config/config_schema.h"
#include "eval/metrics/feature_extractor.h"
#include "models/stylegan2/generator.h"
#include "nn/ada_controller.h"
#include "nn/augment_pipe.h"
#include "train/components.h"
#include "train/recipe.h"
#include "train/recipes/adaptive_augment.h"

namespace loom {

class StyleGan2;

struct StyleGan2RecipeOptions {
  std::string name = "stylegan2";
  double r1_gamma = 10;  // R1 weight γ (paper256: 1, config-f: 10; ~0.0002·res²/batch for auto)
  int64_t d_reg_interval = 16;
  int64_t g_reg_interval = 4;
  double pl_weight = 2;  // 0 = no path-length phase
  int64_t pl_batch_shrink = 2;
  double pl_decay = 0.01;
  double style_mixing = 0.9;  // probability of mixing two ws at a random layer
  bool ema = true;            // keep G_ema (speed: train.ema, e.g. half_life_images 10000 = ema_kimg 10)
  nn::AugmentPipeOptions augment;
  nn::AdaOptions ada;

  template <class V>
  void visit(V& v) {
    v("name", name);
    v("r1_gamma", r1_gamma, {.help = "R1 regularisation weight (0 = off)", .min = 0.0});
    v("d_reg_interval", d_reg_interval, {.help = "R1 every this many steps (lazy regularisation)", .min = 1});
    v("g_reg_interval", g_reg_interval, {.help = "path-length regularisation every this many steps", .min = 1});
    v("pl_weight", pl_weight, {.help = "path-length regularisation weight (0 = off)", .min = 0.0});
    v("pl_batch_shrink", pl_batch_shrink, {.help = "path-length batch = batch / this", .min = 1});
    v("pl_decay", pl_decay, {.help = "decay of the path-length mean", .min = 0.0, .max = 1.0});
    v("style_mixing", style_mixing, {.help = "style-mixing probability", .min = 0.0, .max = 1.0});
    v("ema", ema, {.help = "keep an EMA generator G_ema (speed: train.ema)"});
    v("augment", augment, {.help = "augmentations applied to D's inputs (ADA pipeline)"});
    v("ada", ada, {.help = "augmentation probability: adaptive, fixed or off"});
  }
};

// The `data:` section: training images (tensor "image" in [0, 1]; labels when model.c_dim > 0).
struct StyleGan2DataOptions {
  ConfigNode train;

  template <class V>
  void visit(V& v) {
    v("train", train, {.help = "training image dataset (no normalize transform: images in [0, 1])", .required = true});
  }
};

// `sample:` the grid written at train.sample_every (files and TensorBoard) from fixed seeds.
struct StyleGan2SampleOptions {
  int64_t count = 16;  // seeds 0 … count−1
  double psi = 1.0;
  std::string noise = "const";

  template <class V>
  void visit(V& v) {
    v("count", count, {.help = "images in the grid (seeds 0..count-1)", .min = 1});
    v("psi", psi, {.help = "truncation psi of the samples"});
    v("noise", noise, {.help = "noise mode of the samples", .choices = {"random", "const", "none"}});
  }
};

// `eval:` FID/KID of the generator (G_ema when kept) against the first `num_real` training images.
struct StyleGan2EvalOptions {
  int64_t num_real = 1000;
  int64_t num_fake = 1000;
  int64_t batch_size = 32;  // generation batch
  int64_t kid_subsets = 100;
  int64_t kid_subset_size = 1000;
  eval::FeatureExtractorOptions extractor;

  template <class V>
  void visit(V& v) {
    v("num_real", num_real, {.help = "real images for the statistics (0 = the whole dataset)", .min = 0});
    v("num_fake", num_fake, {.help = "generated images", .min = 2});
    v("batch_size", batch_size, {.help = "generation batch size", .min = 1});
    v("kid_subsets", kid_subsets, {.help = "KID subsets (0 = no KID)", .min = 0});
    v("kid_subset_size", kid_subset_size, {.help = "KID subset size", .min = 2});
    v("extractor", extractor, {.help = "feature extractor (Inception weights or the labelled fallback)"});
  }
};

class StyleGan2Recipe : public Recipe {
 public:
  explicit StyleGan2Recipe(const ConfigNode& config);
  std::vector<std::string> sections() const override { return sections_.keys(); }
  TrainSetup setup(const RecipeContext& context) override;
  Scalars evaluate(const EvalContext& context) override;
  void write_samples(const EvalContext& context) override;
  std::map<std::string, double> counters() const override;
  void set_counters(const std::map<std::string, double>& counters) override;
  // ADA's p update, outside the phases as in NVlabs' training loop (every ada.interval steps).
  void after_step(const StepInfo& info) override;
  // Any generator source read_generator() reads, into G and G_ema.
  void load_weight_file(const TrainSetup& setup, const std::filesystem::path& path) override;

 private:
  at::Tensor run_mapping(const at::Tensor& z, const at::Tensor& c);  // with style mixing
  at::Tensor real_images(const data::Batch& batch);                  // [0, 1] -> [-1, 1], range-checked
  at::Tensor random_labels(int64_t n, c10::Device device) const;
  at::Tensor real_labels(const data::Batch& batch, c10::Device device) const;
  at::Tensor discriminate(const at::Tensor& images, const at::Tensor& c);  // augments, then D
  eval::FeatureExtractor& extractor(c10::Device device);
  const at::Tensor& real_features(c10::Device device);
  GeneratorImpl& generator_for_output();

  RecipeSections sections_;  // first: the options below are read from it
  StyleGan2RecipeOptions options_;
  StyleGan2DataOptions data_;
  StyleGan2SampleOptions sample_;
  StyleGan2EvalOptions eval_;
  std::shared_ptr<StyleGan2> model_;
  Generator ema_{nullptr};
  AdaptiveAugment augment_;
  std::shared_ptr<const data::Dataset> train_data_;
  at::Tensor pl_mean_;  // scalar on the device (undefined = 0 until the first Greg phase)
  bool range_checked_ = false;
  std::unique_ptr<eval::FeatureExtractor> extractor_;
  at::Tensor real_features_;
  uint64_t seed_ = 0;
};

void register_stylegan2_recipe();

}  // namespace loom

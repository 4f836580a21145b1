#include "train/recipes/distill.h"

#include <ATen/ops/cat.h>
#include <ATen/ops/rand.h>
#include <ATen/ops/randint.h>
#include <ATen/ops/randn.h>
#include <c10/core/GradMode.h>

#include "core/error.h"
#include "core/registry/registries.h"
#include "core/text/cat.h"
#include "data/dataset.h"
#include "data/synthetic/gaussian_latents.h"
#include "losses/gan_regularizers.h"
#include "models/blazestylegan/blazestylegan.h"
#include "models/stylegan2/discriminator.h"
#include "train/ema.h"
#include "train/frozen_modules.h"
#include "train/frozen_perceptual.h"
#include "train/recipes/distill_teacher.h"

namespace loom {

DistillRecipe::DistillRecipe(const ConfigNode& config)
    : sections_(
          config,
          {{"model"}, {"optimizer"}, {"d_optimizer", false}, {"data", false}, {"sample", false}, {"eval", false}}),
      options_(sections_.read<DistillRecipeOptions>("recipe")),
      data_(sections_.read<DistillDataOptions>("data")),
      sample_(sections_.read<DistillSampleOptions>("sample")),
      eval_(sections_.read<DistillEvalOptions>("eval")),
      diff_policy_(nn::parse_diff_augment_policy(options_.diffaugment, "recipe.diffaugment")),
      augment_(options_.ada_pipe, options_.ada) {
  if (options_.mode == "data" && data_.train.is_null())
    throw ConfigError("recipe.mode: data needs data.train (the real images D sees)");
  if (options_.l1 <= 0 && options_.l2 <= 0 && options_.perceptual <= 0 && options_.adversarial <= 0)
    throw ConfigError("recipe: every loss weight is 0 (l1, l2, perceptual, adversarial)");
  if (options_.mixed_styles + options_.per_layer_styles > 1)
    throw ConfigError("recipe.mixed_styles + recipe.per_layer_styles must be at most 1");
}

TrainSetup DistillRecipe::setup(const RecipeContext& context) {
  seed_ = context.seed;
  if (options_.teacher.empty())
    throw ConfigError("recipe.teacher: name the teacher (a stylegan2 run folder, checkpoint or weight file)");
  TrainSetup setup;
  const DistillTeacher teacher = load_distill_teacher(options_, setup, context.device);
  teacher_ = teacher.generator;
  const StyleGan2Options& t = teacher_->options();

  student_ =
      make_model<BlazeStyleGan>(sections_.at("model"), "model", "the distill recipe needs model.name: blazestylegan");
  check_student_fits_teacher(*student_, *teacher_, "model");
  copy_teacher_mapping(*student_, *teacher_);
  student_->to(context.device);
  setup.modules["G"] = student_;
  if (options_.ema) {
    student_ema_ = make_model<BlazeStyleGan>(sections_.at("model"), "model", "");
    student_ema_->to(context.device);
    ema_update(*student_ema_, *student_, 0.0);
    setup.ema["G"] = EmaPair{student_, student_ema_};
  }
  chosen_levels_ = choose_levels(student_->synthesis->level_resolutions(), options_.levels, "recipe.levels");

  perceptual_ =
      add_frozen_perceptual(setup, "perceptual", options_.perceptual_loss, "recipe.perceptual_loss", context.device);
  eval_perceptual_ =
      add_frozen_perceptual(setup, "eval_perceptual", eval_.perceptual, "eval.perceptual", context.device);

  if (options_.mode == "data") train_data_ = make_dataset(data_.train, "data.train");
  eval_data_ = !data_.eval.is_null() ? make_dataset(data_.eval, "data.eval") : train_data_;
  // Data-free: the batches are latents (MobileStyleGAN's NoiseDataset); an epoch is a notional 100k.
  setup.train_data = train_data_ ? train_data_ : std::make_shared<data::GaussianLatents>(t.z_dim, 100000);

  setup.optimizers["G"] = {
      make_optimizer(named_parameters(*student_->synthesis), sections_.at("optimizer"), "optimizer"), nullptr};
  setup.phases.push_back({"S", student_->synthesis->parameters(), "G", 1,
                          [this](const data::Batch& batch, const StepInfo&) { return student_loss(batch); }});
  if (options_.adversarial > 0) {
    discriminator_ = build_distill_discriminator(options_, teacher, context.device);
    setup.modules["D"] = discriminator_;
    const ConfigNode* d_section = sections_.find("d_optimizer");
    setup.optimizers["D"] = {
        make_optimizer(named_parameters(*discriminator_), d_section ? *d_section : sections_.at("optimizer"),
                       d_section ? "d_optimizer" : "optimizer", options_.d_reg_interval),
        nullptr};
    if (options_.augment == "ada") augment_.setup(setup, context.device, context.group);
    const std::vector<at::Tensor> d_params = discriminator_->parameters();
    setup.phases.push_back({"D", d_params, "D", 1,
                            [this](const data::Batch& batch, const StepInfo&) { return discriminator_loss(batch); }});
    if (options_.r1_gamma > 0)
      setup.phases.push_back({"Dreg", d_params, "D", options_.d_reg_interval,
                              [this](const data::Batch& batch, const StepInfo&) { return r1_loss(batch); }});
  }
  return setup;
}

at::Tensor DistillRecipe::latents(const data::Batch& batch) const {
  if (auto it = batch.tensors.find("z"); it != batch.tensors.end()) return it->second;
  const at::Tensor& image = batch.at("image");
  return at::randn({image.size(0), teacher_->options().z_dim}, image.options().dtype(at::kFloat));
}

at::Tensor DistillRecipe::sample_ws(const at::Tensor& z) {
  MappingNetworkImpl& mapping = *teacher_->mapping;
  auto map = [&](const at::Tensor& latent) { return mapping.forward(latent, {}, options_.truncation_psi, -1, false); };
  at::Tensor ws = map(z);
  const int64_t num_ws = ws.size(1);
  // One coin per batch from the CPU generator (no device sync; checkpointed with the run).
  const double coin = at::rand({}).item<double>();
  if (coin < options_.per_layer_styles) {
    const at::Tensor layer_z = at::randn({z.size(0) * num_ws, z.size(1)}, z.options());
    return map(layer_z).select(1, 0).reshape({z.size(0), num_ws, ws.size(2)});
  }
  if (coin < options_.per_layer_styles + options_.mixed_styles) {
    const int64_t cutoff = at::randint(1, num_ws, {}, at::kLong).item<int64_t>();
    const at::Tensor other = map(at::randn_like(z));
    return at::cat({ws.narrow(1, 0, cutoff), other.narrow(1, cutoff, num_ws - cutoff)}, 1);
  }
  return ws;
}

DistillRecipe::Targets DistillRecipe::teacher_targets(const data::Batch& batch) {
  const at::Tensor& key = batch.tensors.begin()->second;
  if (cached_.key.defined() && cached_.key.is_same(key)) return cached_;
  c10::NoGradGuard no_grad;
  Targets t;
  t.key = key;
  t.ws = sample_ws(latents(batch));
  t.noise = teacher_->synthesis->random_noise(t.ws.size(0), t.ws.device());
  const std::vector<int64_t> sides = student_->synthesis->level_resolutions();
  if (options_.target == "teacher_levels") {
    const std::vector<at::Tensor> levels = teacher_->synthesis->forward_levels(t.ws, NoiseMode::random, t.noise);
    t.image = levels.back();
    for (size_t i : chosen_levels_) t.levels.push_back(teacher_level(levels, sides[i], "recipe.target"));
  } else {
    t.image = teacher_->synthesis->forward(t.ws, NoiseMode::random, false, t.noise);
    for (size_t i : chosen_levels_) t.levels.push_back(resize_to(t.image, sides[i]));
  }
  cached_ = t;
  return t;
}

LossOutput DistillRecipe::student_loss(const data::Batch& batch) {
  const Targets targets = teacher_targets(batch);
  StudentImages out = student_->synthesis->forward(targets.ws, NoiseMode::random, targets.noise);
  const std::vector<int64_t> sides = student_->synthesis->level_resolutions();
  at::Tensor l1 = at::zeros({}, out.image.options()), l2 = l1, perceptual = l1;
  TensorFigures figures;
  for (size_t k = 0; k < chosen_levels_.size(); ++k) {
    const at::Tensor& s = out.levels[chosen_levels_[k]];
    const at::Tensor& target = targets.levels[k];
    if (options_.l1 > 0) l1 = l1 + (s - target).abs().mean();
    if (options_.l2 > 0) l2 = l2 + (s - target).pow(2).mean();
    const bool final_level = chosen_levels_[k] + 1 == out.levels.size();
    if (options_.perceptual > 0 && (options_.perceptual_levels == "all" || final_level) &&
        sides[chosen_levels_[k]] >= perceptual_->min_input_size()) {
      const at::Tensor d = perceptual_->forward(s, target).mean();
      perceptual = perceptual + d;
      figures.emplace_back(cat("perceptual@", sides[chosen_levels_[k]]), d.detach());
    }
  }
  TensorFigures losses;
  if (options_.l1 > 0) losses.emplace_back("l1", l1 * options_.l1);
  if (options_.l2 > 0) losses.emplace_back("l2", l2 * options_.l2);
  if (options_.perceptual > 0) losses.emplace_back("perceptual", perceptual * options_.perceptual);
  if (options_.adversarial > 0) {
    const at::Tensor logits = discriminator_->forward(augment(out.image), {});
    losses.emplace_back("adversarial", generator_logistic_loss(logits).mean() * options_.adversarial);
    figures.emplace_back("D(student)", logits.mean().detach());
  }
  cached_.student = out.image.detach();
  return LossOutput{losses, figures};
}

at::Tensor DistillRecipe::real_images(const data::Batch& batch) {
  if (options_.mode == "data_free") return teacher_targets(batch).image;
  return gan_real_images(batch, range_checked_, "distill");
}

at::Tensor DistillRecipe::augment(const at::Tensor& images) {
  if (options_.augment == "diffaugment") return nn::diff_augment(images, diff_policy_);
  if (options_.augment == "ada") return augment_(images);
  return images;
}

LossOutput DistillRecipe::discriminator_loss(const data::Batch& batch) {
  const Targets targets = teacher_targets(batch);
  at::Tensor fake = cached_.student;
  if (!fake.defined()) {  // the S phase did not run on this batch (staged phases)
    c10::NoGradGuard no_grad;
    fake = student_->synthesis->forward(targets.ws, NoiseMode::random, targets.noise, false).image;
  }
  const at::Tensor fake_logits = discriminator_->forward(augment(fake), {});
  const at::Tensor real_logits = discriminator_->forward(augment(real_images(batch)), {});
  if (options_.augment == "ada") augment_.observe(real_logits);
  return LossOutput{discriminator_logistic_loss(fake_logits, real_logits).mean(),
                    {{"D(real)", real_logits.mean().detach()}, {"D(fake)", fake_logits.mean().detach()}}};
}

// On the non-augmented reals as MobileStyleGAN does; through the pipe with ADA, as NVlabs does.
LossOutput DistillRecipe::r1_loss(const data::Batch& batch) {
  const at::Tensor real = real_images(batch).detach().requires_grad_(true);
  const at::Tensor logits = discriminator_->forward(options_.augment == "ada" ? augment_(real) : real, {});
  const at::Tensor penalty = r1_penalty(logits, real);
  const at::Tensor loss = (penalty * (options_.r1_gamma / 2)).mean() * static_cast<double>(options_.d_reg_interval);
  return LossOutput{loss, {{"r1_penalty", penalty.mean().detach()}}};
}

void DistillRecipe::after_step(const StepInfo& info) {
  cached_ = {};
  if (discriminator_ && options_.augment == "ada") augment_.after_step(info);
}

std::map<std::string, double> DistillRecipe::counters() const {
  return options_.augment == "ada" ? augment_.counters() : std::map<std::string, double>{};
}

void DistillRecipe::set_counters(const std::map<std::string, double>& counters) {
  if (options_.augment == "ada") augment_.set_counters(counters);
}

BlazeStyleGan& DistillRecipe::student_for_output() { return student_ema_ ? *student_ema_ : *student_; }

void register_distill_recipe() {
  recipe_registry().add(
      "distill", [](const ConfigNode& config) { return std::make_shared<DistillRecipe>(config); },
      "distil a frozen StyleGAN2 teacher into a BlazeStyleGAN student (multi-scale pixel + perceptual + GAN "
      "losses, data-free or with data); FID/KID/LPIPS against the teacher, teacher | student grids");
}

}  // namespace loom

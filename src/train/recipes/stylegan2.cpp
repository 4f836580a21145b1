#include "train/recipes/stylegan2.h"

#include <cmath>

#include <ATen/ops/cat.h>
#include <ATen/ops/one_hot.h>
#include <ATen/ops/randint.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/randn_like.h>
#include <ATen/ops/scalar_tensor.h>
#include <c10/core/GradMode.h>
#include <torch/nn/module.h>

#include "core/log.h"
#include "core/registry/registries.h"
#include "core/text/cat.h"
#include "data/dataset.h"
#include "data/image_grid.h"
#include "data/image_io.h"
#include "data/loader.h"
#include "eval/metrics/generator_scores.h"
#include "losses/gan_regularizers.h"
#include "models/model_metadata.h"
#include "models/stylegan2/generator_weights.h"
#include "models/stylegan2/latents.h"
#include "models/stylegan2/stylegan2.h"
#include "train/components.h"
#include "train/ema.h"

namespace loom {

StyleGan2Recipe::StyleGan2Recipe(const ConfigNode& config)
    : sections_(config,
                {{"model"}, {"data"}, {"optimizer"}, {"d_optimizer", false}, {"sample", false}, {"eval", false}}),
      options_(sections_.read<StyleGan2RecipeOptions>("recipe")),
      data_(sections_.read<StyleGan2DataOptions>("data")),
      sample_(sections_.read<StyleGan2SampleOptions>("sample")),
      eval_(sections_.read<StyleGan2EvalOptions>("eval")),
      augment_(options_.augment, options_.ada) {}

TrainSetup StyleGan2Recipe::setup(const RecipeContext& context) {
  seed_ = context.seed;
  TrainSetup setup;
  train_data_ = make_dataset(data_.train, "data.train");
  setup.train_data = train_data_;
  model_ = make_model<StyleGan2>(sections_.at("model"), "model", "the stylegan2 recipe needs model.name: stylegan2");
  model_->to(context.device);
  setup.modules["G"] = model_->G.ptr();
  setup.modules["D"] = model_->D.ptr();
  augment_.setup(setup, context.device, context.group);
  if (options_.ema) {
    ema_ = Generator(model_->options());
    ema_->to(context.device);
    ema_update(*ema_, *model_->G, 0.0);  // starts as a copy
    setup.ema["G"] = EmaPair{model_->G.ptr(), ema_.ptr()};
  }

  const bool path_length = options_.pl_weight > 0, r1 = options_.r1_gamma > 0;
  const ConfigNode* d_optimizer = sections_.find("d_optimizer");
  const ConfigNode& d_section = d_optimizer ? *d_optimizer : sections_.at("optimizer");
  // The lazy-regularisation lr/β adjustment applies even with a penalty off, as in NVlabs' cifar config.
  setup.optimizers["G"] = {
      make_optimizer(named_parameters(*model_->G), sections_.at("optimizer"), "optimizer", options_.g_reg_interval),
      nullptr};
  setup.optimizers["D"] = {make_optimizer(named_parameters(*model_->D), d_section,
                                          d_optimizer ? "d_optimizer" : "optimizer", options_.d_reg_interval),
                           nullptr};
  const std::vector<at::Tensor> g_params = model_->G->parameters(), d_params = model_->D->parameters();
  const int64_t z_dim = model_->options().z_dim;

  setup.phases.push_back(
      {"Gmain", g_params, "G", 1, [this, z_dim](const data::Batch& batch, const StepInfo&) {
         const auto device = batch.at("image").device();
         const int64_t n = batch.size();
         at::Tensor c = random_labels(n, device);
         at::Tensor img = model_->G->synthesis->forward(run_mapping(at::randn({n, z_dim}, device), c));
         at::Tensor logits = discriminate(img, c);
         return LossOutput{generator_logistic_loss(logits).mean(), {{"D(fake)", logits.mean()}}};
       }});
  if (path_length)
    setup.phases.push_back(
        {"Greg", g_params, "G", options_.g_reg_interval, [this, z_dim](const data::Batch& batch, const StepInfo&) {
           const auto device = batch.at("image").device();
           const int64_t n = std::max<int64_t>(batch.size() / options_.pl_batch_shrink, 1);
           at::Tensor ws = run_mapping(at::randn({n, z_dim}, device), random_labels(n, device));
           at::Tensor img = model_->G->synthesis->forward(ws);
           at::Tensor noise = at::randn_like(img) / std::sqrt(static_cast<double>(img.size(2) * img.size(3)));
           at::Tensor lengths = path_lengths(img, ws, noise);
           at::Tensor penalty = path_length_penalty(lengths, pl_mean_, options_.pl_decay);
           // Scaled by the interval: the lazy phase stands in for that many steps.
           at::Tensor loss = (penalty * options_.pl_weight).mean() * static_cast<double>(options_.g_reg_interval);
           return LossOutput{loss, {{"pl_length", lengths.mean()}, {"pl_mean", pl_mean_}}};
         }});
  setup.phases.push_back({"Dmain", d_params, "D", 1, [this, z_dim](const data::Batch& batch, const StepInfo&) {
                            const auto device = batch.at("image").device();
                            const int64_t n = batch.size();
                            at::Tensor fake, c = random_labels(n, device);
                            {
                              c10::NoGradGuard no_grad;  // D's step: G only supplies images
                              fake = model_->G->synthesis->forward(run_mapping(at::randn({n, z_dim}, device), c));
                            }
                            at::Tensor fake_logits = discriminate(fake, c);
                            at::Tensor real_logits = discriminate(real_images(batch), real_labels(batch, device));
                            augment_.observe(real_logits);
                            at::Tensor loss = discriminator_logistic_loss(fake_logits, real_logits).mean();
                            return LossOutput{loss, {{"D(real)", real_logits.mean()}, {"D(fake)", fake_logits.mean()}}};
                          }});
  if (r1)
    setup.phases.push_back(
        {"Dreg", d_params, "D", options_.d_reg_interval, [this](const data::Batch& batch, const StepInfo&) {
           at::Tensor real = real_images(batch).detach().requires_grad_(true);
           at::Tensor logits = discriminate(real, real_labels(batch, real.device()));
           augment_.observe(logits);
           at::Tensor penalty = r1_penalty(logits, real);
           at::Tensor loss = (penalty * (options_.r1_gamma / 2)).mean() * static_cast<double>(options_.d_reg_interval);
           return LossOutput{loss, {{"r1_penalty", penalty.mean()}}};
         }});
  return setup;
}

at::Tensor StyleGan2Recipe::real_images(const data::Batch& batch) {
  return gan_real_images(batch, range_checked_, "stylegan2");
}

at::Tensor StyleGan2Recipe::run_mapping(const at::Tensor& z, const at::Tensor& c) {
  at::Tensor ws = model_->G->mapping->forward(z, c);
  if (options_.style_mixing <= 0) return ws;
  // The crossover layer and the coin, drawn every call as NVlabs does, from the CPU generator (no device
  // sync; checkpointed like every generator). Without mixing the second mapping is skipped: it would
  // change nothing.
  const int64_t num_ws = ws.size(1);
  const int64_t cutoff = at::randint(1, num_ws, {}, at::kLong).item<int64_t>();
  if (at::rand({}).item<double>() >= options_.style_mixing) return ws;
  at::Tensor other = model_->G->mapping->forward(at::randn_like(z), c, 1.0, -1, /*update_w_avg=*/false);
  return at::cat({ws.narrow(1, 0, cutoff), other.narrow(1, cutoff, num_ws - cutoff)}, 1);
}

at::Tensor StyleGan2Recipe::random_labels(int64_t n, c10::Device device) const {
  const int64_t c_dim = model_->options().c_dim;
  if (c_dim == 0) return {};
  return class_vectors(at::randint(0, c_dim, {n}, at::TensorOptions(device).dtype(at::kLong)), c_dim,
                       "generated labels");
}

at::Tensor StyleGan2Recipe::real_labels(const data::Batch& batch, c10::Device device) const {
  const int64_t c_dim = model_->options().c_dim;
  if (c_dim == 0) return {};
  auto it = batch.tensors.find("label");
  if (it == batch.tensors.end())
    throw UserError("stylegan2: model.c_dim > 0 needs class labels, and data.train gives none");
  return class_vectors(it->second.to(device), c_dim, "data.train labels");
}

at::Tensor StyleGan2Recipe::discriminate(const at::Tensor& images, const at::Tensor& c) {
  return model_->D->forward(augment_(images), c);
}

void StyleGan2Recipe::after_step(const StepInfo& info) { augment_.after_step(info); }

std::map<std::string, double> StyleGan2Recipe::counters() const {
  const double pl_mean = pl_mean_.defined() ? pl_mean_.item<double>() : 0.0;  // once per checkpoint
  std::map<std::string, double> out = augment_.counters();
  out["pl_mean"] = pl_mean;
  return out;
}

void StyleGan2Recipe::set_counters(const std::map<std::string, double>& counters) {
  if (auto it = counters.find("pl_mean"); it != counters.end())
    pl_mean_ = at::scalar_tensor(it->second, at::kFloat);  // a CPU scalar mixes with any device
  augment_.set_counters(counters);
}

GeneratorImpl& StyleGan2Recipe::generator_for_output() { return ema_ ? *ema_ : *model_->G; }

eval::FeatureExtractor& StyleGan2Recipe::extractor(c10::Device device) {
  if (!extractor_) {
    extractor_ = eval::make_feature_extractor(eval_.extractor, device);
    LOOM_INFO("FID/KID features: ", extractor_->name());
  }
  return *extractor_;
}

const at::Tensor& StyleGan2Recipe::real_features(c10::Device device) {
  if (!real_features_.defined())
    real_features_ = dataset_image_features(
        train_data_, {.batch_size = eval_.batch_size, .workers = 2, .seed = seed_, .limit = eval_.num_real}, device,
        extractor(device), "stylegan2 evaluation");
  return real_features_;
}

Scalars StyleGan2Recipe::evaluate(const EvalContext& context) {
  const at::Tensor& real = real_features(context.device);
  GeneratorImpl& g = generator_for_output();
  at::manual_seed(seed_ + 7);  // the same latents at every evaluation
  std::vector<at::Tensor> features;
  for (int64_t done = 0; done < eval_.num_fake; done += eval_.batch_size) {
    const int64_t n = std::min(eval_.batch_size, eval_.num_fake - done);
    at::Tensor z = at::randn({n, g.options().z_dim}).to(context.device);
    at::Tensor images = g.forward(z, random_labels(n, context.device), {.noise_mode = NoiseMode::random});
    features.push_back(extractor(context.device).features(eval::to_eight_bit_unit(images)));
  }
  const std::string suffix = extractor(context.device).comparable_to_published() ? "" : "_fallback";
  Scalars out = eval::fid_and_kid(real, at::cat(features), "", suffix,
                                  {.subsets = eval_.kid_subsets, .subset_size = eval_.kid_subset_size, .seed = seed_});
  out.emplace_back("val/augment_p", augment_.p());
  return out;
}

void StyleGan2Recipe::write_samples(const EvalContext& context) {
  GeneratorImpl& g = generator_for_output();
  std::vector<int64_t> seeds(static_cast<size_t>(sample_.count));
  for (int64_t i = 0; i < sample_.count; ++i) seeds[static_cast<size_t>(i)] = i;
  at::Tensor c;  // conditional: the classes in turn
  if (g.options().c_dim > 0)
    c = class_vectors(at::arange(sample_.count) % g.options().c_dim, g.options().c_dim, "samples");
  at::Tensor grid = data::image_grid(images_from_seeds(
      g, seeds, c, {.truncation_psi = sample_.psi, .noise_mode = parse_noise_mode(sample_.noise)}, context.device));
  write_sample_grid(context, "fakes", grid);
}

void StyleGan2Recipe::load_weight_file(const TrainSetup&, const std::filesystem::path& path) {
  const GeneratorFile file = read_generator(path);
  // The model is built already: every key of its section, defaults included, must agree with the file's.
  if (file.model)
    reconcile_model_section(resolved_model_section(sections_.at("model"), "model"), "model", *file.model, file.source);
  const weights::NamedTensors state = generator_weights(file);
  LOOM_INFO(weights::load_into(*model_->G, state, {}, file.source).summary());
  if (ema_) weights::load_into(*ema_, state, {}, file.source);
}

void register_stylegan2_recipe() {
  recipe_registry().add(
      "stylegan2", [](const ConfigNode& config) { return std::make_shared<StyleGan2Recipe>(config); },
      "StyleGAN2 GAN training (Gmain/Greg/Dmain/Dreg, ADA, G EMA); FID/KID evaluation and sample grids");
}

}  // namespace loom

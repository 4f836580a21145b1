#include "train/recipes/encoder.h"

#include <ATen/ops/full.h>
#include <ATen/ops/log10.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/stack.h>
#include <ATen/ops/upsample_bilinear2d.h>
#include <ATen/ops/zeros.h>
#include <c10/core/GradMode.h>

#include <algorithm>

#include "core/config/config_error.h"
#include "core/log.h"
#include "core/registry/registries.h"
#include "core/text/cat.h"
#include "data/dataset.h"
#include "data/image_grid.h"
#include "data/synthetic/gaussian_latents.h"
#include "eval/eval_pass.h"
#include "models/encoder/mobilenet_v2_encoder.h"
#include "models/encoder/pretrained_encoder.h"
#include "models/model_metadata.h"
#include "models/weight_source.h"
#include "train/frozen_modules.h"
#include "train/frozen_perceptual.h"

namespace loom {

EncoderRecipe::EncoderRecipe(const ConfigNode& config)
    : sections_(config, {{"model"}, {"optimizer"}, {"data", false}, {"eval", false}}),
      options_(sections_.read<EncoderRecipeOptions>("recipe")),
      data_(sections_.read<EncoderDataOptions>("data")),
      eval_(sections_.read<EncoderEvalOptions>("eval")) {
  if (options_.train_on == "data" && data_.train.is_null())
    throw ConfigError("data.train: the encoder recipe trains on data.train (or set recipe.train_on: generated)");
  if (options_.w_l2 > 0 && options_.train_on != "generated")
    throw ConfigError("recipe.w_l2: needs recipe.train_on: generated (only generated images have a known W+)");
  if (options_.l2 <= 0 && options_.lpips <= 0 && options_.w_l2 <= 0)
    throw ConfigError("recipe: l2, lpips and w_l2 are all 0: nothing ties the reconstruction to the image");
}

int64_t EncoderRecipe::stage(int64_t step) const {
  if (!encoder_->options().progressive || options_.progressive_step_every == 0) return -1;
  if (step < options_.progressive_start) return 0;
  const int64_t deltas = encoder_->options().num_ws - 1;
  return std::min(deltas, 1 + (step - options_.progressive_start) / options_.progressive_step_every);
}

TrainSetup EncoderRecipe::setup(const RecipeContext& context) {
  seed_ = context.seed;
  if (options_.generator.empty())
    throw ConfigError("recipe.generator: name the frozen generator (a stylegan2 or distill run folder or file)");
  TrainSetup setup;
  generator_ = load_pretrained_image_generator(options_.generator, nullptr, "recipe.generator");
  if (generator_.c_dim > 0)
    throw ConfigError(
        cat("recipe.generator: ", generator_.source, " is conditional; the encoder inverts unconditional generators"));
  setup.frozen["generator"] = freeze_module(generator_.module, "", context.device, "recipe.generator");
  setup.frozen["generator"].source = generator_.source;
  LOOM_INFO("generator: ", generator_.source, " (", generator_.is_student() ? "student" : "stylegan2", ", ",
            generator_.resolution, " px, ", generator_.num_ws, " ws)");

  encoder_ = make_model<MobileNetV2Encoder>(sections_.at("model"), "model",
                                            "the encoder recipe needs model.name: mobilenet_v2_encoder");
  const auto& eo = encoder_->options();
  if (eo.num_ws != generator_.num_ws || eo.w_dim != generator_.w_dim || eo.resolution != generator_.resolution)
    throw ConfigError(cat("model: the encoder makes ", eo.num_ws, " ws of ", eo.w_dim, " from ", eo.resolution,
                          " px; the generator reads ", generator_.num_ws, " of ", generator_.w_dim, " at ",
                          generator_.resolution, " px (model.num_ws, model.w_dim, model.resolution)"));
  encoder_->to(context.device);
  setup.modules["E"] = encoder_;

  if (options_.lpips > 0)
    perceptual_ =
        add_frozen_perceptual(setup, "perceptual", options_.perceptual_loss, "recipe.perceptual_loss", context.device);
  eval_perceptual_ =
      add_frozen_perceptual(setup, "eval_perceptual", eval_.perceptual, "eval.perceptual", context.device);
  if (!data_.eval.is_null()) eval_data_ = make_dataset(data_.eval, "data.eval");

  setup.train_data = options_.train_on == "data"
                         ? make_dataset(data_.train, "data.train")
                         : std::make_shared<data::GaussianLatents>(generator_.seeds.mapping->options().z_dim, 100000);
  setup.optimizers["E"] = {make_optimizer(named_parameters(*encoder_), sections_.at("optimizer"), "optimizer"),
                           nullptr};
  setup.phases.push_back({"E", encoder_->parameters(), "E", 1,
                          [this](const data::Batch& batch, const StepInfo& info) { return loss(batch, info); }});
  return setup;
}

at::Tensor EncoderRecipe::generate(const at::Tensor& ws) const {
  return generator_.seeds.synthesize(ws, NoiseMode::constant);
}

EncoderRecipe::Pair EncoderRecipe::training_pair(const data::Batch& batch) {
  if (options_.train_on == "data") {
    at::Tensor x = gan_real_images(batch, range_checked_, "encoder");
    const int64_t side = generator_.resolution;
    if (x.size(2) != side || x.size(3) != side) x = at::upsample_bilinear2d(x, {side, side}, false);
    return {x, {}};
  }
  c10::NoGradGuard no_grad;
  const at::Tensor ws = generator_.seeds.mapping->forward(batch.at("z"), {}, options_.truncation_psi, -1, false)
                            .narrow(1, 0, generator_.num_ws);
  return {generate(ws), ws};
}

LossOutput EncoderRecipe::loss(const data::Batch& batch, const StepInfo& info) {
  const Pair pair = training_pair(batch);
  const at::Tensor w_avg = generator_.w_avg();
  const at::Tensor ws = invert(*encoder_, pair.images, w_avg, stage(info.step));
  const at::Tensor image = generate(ws);
  TensorFigures losses, figures;
  if (options_.l2 > 0) losses.emplace_back("l2", (image - pair.images).pow(2).mean() * options_.l2);
  if (options_.lpips > 0)
    losses.emplace_back("lpips", perceptual_->forward(image, pair.images).mean() * options_.lpips);
  const at::Tensor residual = ws - w_avg.view({1, 1, -1});
  if (options_.w_norm > 0) losses.emplace_back("w_norm", residual.flatten(1).norm(2, {1}).mean() * options_.w_norm);
  if (options_.w_l2 > 0) losses.emplace_back("w_l2", (ws - pair.ws).pow(2).mean() * options_.w_l2);
  const int64_t s = stage(info.step);
  if (s > 0 && options_.delta_norm > 0) {
    const at::Tensor deltas = ws.narrow(1, 1, s) - ws.narrow(1, 0, 1);
    losses.emplace_back("delta_norm", deltas.norm(2, {2}).mean(0).sum() * options_.delta_norm);
  }
  if (encoder_->options().progressive) figures.emplace_back("stage", at::full({}, static_cast<double>(s)));
  return LossOutput{losses, figures};
}

void EncoderRecipe::for_each_held_out(c10::Device device, int64_t limit, int64_t batch_size,
                                      const std::function<void(const Pair&)>& each) {
  const int64_t side = generator_.resolution;
  if (eval_data_) {
    eval::for_each_eval_batch(eval_data_, {.batch_size = batch_size, .workers = 1, .seed = seed_, .limit = limit},
                              device, [&](const data::Batch& batch) {
                                at::Tensor x = batch.at("image").to(at::kFloat);
                                if (x.size(2) != side || x.size(3) != side)
                                  x = at::upsample_bilinear2d(x, {side, side}, false);
                                each({x * 2 - 1, {}});
                              });
    return;
  }
  at::manual_seed(seed_ + 11);  // the same held-out samples at every evaluation
  for (int64_t done = 0; done < limit; done += batch_size) {
    const int64_t n = std::min(batch_size, limit - done);
    const at::Tensor z = at::randn({n, generator_.seeds.mapping->options().z_dim}).to(device);
    const at::Tensor ws = generator_.seeds.mapping->forward(z, {}, 1.0, -1, false).narrow(1, 0, generator_.num_ws);
    each({generate(ws), ws});
  }
}

Scalars EncoderRecipe::evaluate(const EvalContext& context) {
  double lpips = 0, l2 = 0, psnr = 0;
  int64_t n = 0;
  for_each_held_out(context.device, eval_.num_images, eval_.batch_size, [&](const Pair& pair) {
    const at::Tensor image = generate(invert(*encoder_, pair.images, generator_.w_avg()));
    lpips += eval_perceptual_->forward(image, pair.images).sum().item<double>();
    const at::Tensor mse = (image - pair.images).pow(2).flatten(1).mean(1);
    l2 += mse.sum().item<double>();
    // [0, 1] images: their MSE is a quarter of the [-1, 1] one.
    psnr += (at::log10(1.0 / (mse / 4).clamp_min(1e-10)) * 10).sum().item<double>();
    n += pair.images.size(0);
  });
  const double count = static_cast<double>(std::max<int64_t>(n, 1));
  return {
      {"val/" + eval_perceptual_->metric_name(), lpips / count}, {"val/l2", l2 / count}, {"val/psnr", psnr / count}};
}

void EncoderRecipe::write_samples(const EvalContext& context) {
  at::Tensor rows;
  for_each_held_out(context.device, eval_.grid_images, eval_.grid_images, [&](const Pair& pair) {
    const at::Tensor image = generate(invert(*encoder_, pair.images, generator_.w_avg()));
    rows = at::stack({pair.images, image}, 1).flatten(0, 1).cpu();
  });
  if (rows.defined()) write_sample_grid(context, "input_reconstruction", data::image_grid(rows, 2));
}

void EncoderRecipe::load_weight_file(const TrainSetup&, const std::filesystem::path& path) {
  const WeightSource file = read_weight_source(path);
  if (file.model)
    reconcile_model_section(resolved_model_section(sections_.at("model"), "model"), "model", *file.model, file.source);
  LOOM_INFO(weights::load_into(*encoder_, encoder_weights(file), {}, file.source).summary());
}

void register_encoder_recipe() {
  recipe_registry().add(
      "encoder", [](const ConfigNode& config) { return std::make_shared<EncoderRecipe>(config); },
      "train a GAN-inversion encoder through a frozen generator (pSp L2 + LPIPS + W-norm, e4e progressive "
      "deltas); LPIPS / L2 / PSNR reconstruction scores, input | reconstruction grids");
}

}  // namespace loom

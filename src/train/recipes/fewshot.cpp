#include "train/recipes/fewshot.h"

#include <functional>

#include <ATen/ops/arange.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/upsample_bilinear2d.h>
#include <ATen/ops/zeros.h>
#include <c10/core/GradMode.h>

#include "core/config/config_error.h"
#include "core/error.h"
#include "core/log.h"
#include "core/registry/registries.h"
#include "core/text/cat.h"
#include "core/text/join.h"
#include "data/dataset.h"
#include "data/face/face_aligner.h"
#include "data/image_io.h"
#include "data/synthetic/gaussian_latents.h"
#include "eval/eval_pass.h"
#include "models/blazestylegan/blazestylegan.h"
#include "models/encoder/mobilenet_v2_encoder.h"
#include "models/encoder/pretrained_encoder.h"
#include "models/pretrained_image_generator.h"
#include "models/stylegan2/discriminator.h"
#include "models/stylegan2/pretrained_generator.h"
#include "train/frozen_modules.h"
#include "train/frozen_perceptual.h"

namespace loom {

FewShotRecipe::FewShotRecipe(const ConfigNode& config)
    : sections_(config, {{"optimizer"}, {"data"}, {"eval", false}}),
      options_(sections_.read<FewShotRecipeOptions>("recipe")),
      data_(sections_.read<FewShotDataOptions>("data")),
      eval_(sections_.read<FewShotEvalOptions>("eval")) {
  if (data_.style.is_null()) throw ConfigError("data.style: name the style images (a dataset section)");
  if (options_.mediapipe_style_bug) options_.perceptual_loss.style_taps = "last";
}

FewShotRecipe::Resolved FewShotRecipe::resolve(int64_t num_ws) const {
  const bool mediapipe = options_.preset == "mediapipe";
  Resolved r;
  r.swap_layers = options_.swap_layers;
  if (r.swap_layers.empty()) {
    if (mediapipe)
      r.swap_layers = {4, 5, 10, 11};
    else
      for (int64_t l = 7; l < num_ws; ++l) r.swap_layers.push_back(l);
  }
  for (int64_t l : r.swap_layers)
    if (l < 0 || l >= num_ws)
      throw ConfigError(cat("recipe.swap_layers: layer ", l, " is outside the generator's W+ (0..", num_ws - 1, ")"));
  const double alpha = options_.alpha.value_or(mediapipe ? 0.1 : 1.0);
  r.style_weight_on_swap = mediapipe ? alpha : 1.0 - alpha;  // JoJoGAN inverts its strength
  r.l1 = options_.l1.value_or(mediapipe ? 0.5 : 0.0);
  r.perceptual = options_.perceptual.value_or(mediapipe ? 1.0 : 0.0);
  r.d_l1 = options_.d_l1.value_or(mediapipe ? 0.2 : 1.0);
  const std::string d_features = options_.d_features.empty() ? (mediapipe ? "logits" : "blocks") : options_.d_features;
  r.d_blocks = d_features == "blocks";
  if (r.l1 <= 0 && r.perceptual <= 0 && r.d_l1 <= 0)
    throw ConfigError("recipe: every loss weight is 0 (l1, perceptual, d_l1)");
  return r;
}

TrainSetup FewShotRecipe::setup(const RecipeContext& context) {
  seed_ = context.seed;
  if (options_.generator.empty())
    throw ConfigError("recipe.generator: name the student to fine-tune (a distill run folder, checkpoint or weights)");
  if (options_.encoder.empty())
    throw ConfigError("recipe.encoder: name the inversion encoder (an encoder run folder, checkpoint or weights)");
  TrainSetup setup;
  auto load_student = [&] {
    PretrainedImageGenerator g = load_pretrained_image_generator(options_.generator, nullptr, "recipe.generator");
    if (!g.is_student())
      throw ConfigError(cat("recipe.generator: ", g.source,
                            " is a StyleGAN2 generator; the fewshot recipe fine-tunes a BlazeStyleGAN student"));
    return g.student;
  };
  student_ = load_student();
  student_->train();
  for (auto& p : student_->synthesis->parameters()) p.requires_grad_(true);
  student_->to(context.device);
  setup.modules["G"] = student_;
  original_ = load_student();  // the untouched student: the content reference of the evaluation
  setup.frozen["original"] = freeze_module(original_, "", context.device, "recipe.generator");
  setup.frozen["original"].source = options_.generator;
  const int64_t num_ws = student_->synthesis->num_ws(), resolution = student_->options().resolution;
  r_ = resolve(num_ws);
  swap_mask_ = at::zeros({1, num_ws, 1});
  for (int64_t l : r_.swap_layers) swap_mask_[0][l] = 1.0;
  swap_mask_ = swap_mask_.to(context.device);

  PretrainedEncoder e = load_pretrained_encoder(options_.encoder, nullptr, "recipe.encoder");
  encoder_ = e.encoder;
  const auto& eo = encoder_->options();
  if (eo.num_ws != num_ws || eo.w_dim != student_->options().w_dim || eo.resolution != resolution)
    throw ConfigError(cat("recipe.encoder: ", e.source, " makes ", eo.num_ws, " ws of ", eo.w_dim, " from ",
                          eo.resolution, " px images; the student reads ", num_ws, " of ", student_->options().w_dim,
                          " at ", resolution, " px"));
  setup.frozen["encoder"] = freeze_module(encoder_, "", context.device, "recipe.encoder");
  setup.frozen["encoder"].source = e.source;

  if (r_.d_l1 > 0) {
    const std::string d_file = options_.discriminator.empty() ? options_.generator : options_.discriminator;
    PretrainedGenerator teacher = load_pretrained_generator(d_file, nullptr, "recipe.discriminator");
    if (teacher.discriminator.empty())
      throw UserError(cat("recipe.discriminator: ", teacher.source,
                          " holds no discriminator (name a stylegan2 run, checkpoint or a file with D.*)"));
    if (teacher.generator->options().resolution != resolution)
      throw ConfigError(cat("recipe.discriminator: ", teacher.source, "'s D sees ",
                            teacher.generator->options().resolution, " px images, the student makes ", resolution));
    discriminator_ = std::make_shared<DiscriminatorImpl>(teacher.generator->options());
    weights::load_into(*discriminator_, teacher.discriminator, {}, teacher.source);
    setup.frozen["discriminator"] = freeze_module(discriminator_, "", context.device, "recipe.discriminator");
    setup.frozen["discriminator"].source = teacher.source;
  }
  if (r_.perceptual > 0)
    perceptual_ =
        add_frozen_perceptual(setup, "perceptual", options_.perceptual_loss, "recipe.perceptual_loss", context.device);
  eval_perceptual_ =
      add_frozen_perceptual(setup, "eval_perceptual", eval_.perceptual, "eval.perceptual", context.device);
  PerceptualLossOptions gram = options_.perceptual_loss;  // the style term alone, over every tap
  gram.kind = "vgg_style";
  gram.content_weight = 0;
  gram.style_weight = 1;
  gram.style_taps = "all";
  gram_ = add_frozen_perceptual(setup, "gram", gram, "recipe.perceptual_loss", context.device);

  load_style_images(context.device);
  if (!data_.eval.is_null()) eval_data_ = make_dataset(data_.eval, "data.eval");
  setup.train_data = std::make_shared<data::GaussianLatents>(student_->options().z_dim, 100000);
  setup.optimizers["G"] = {
      make_optimizer(named_parameters(*student_->synthesis), sections_.at("optimizer"), "optimizer"), nullptr};
  setup.phases.push_back({"G", student_->synthesis->parameters(), "G", 1,
                          [this](const data::Batch& batch, const StepInfo& info) { return loss(batch, info); }});
  return setup;
}

// Every style image (cut to its face first with style_align), at the student's side, in [-1, 1]; their
// codes E(x) + w_avg and D's outputs for each alone (MediaPipe calls D on the single style image, so
// its minibatch-stddev sees one sample).
namespace {

// `outputs` of each image alone, concatenated image by image: one tensor per output, its rows in the
// order of `images`. Empty once they pass max_bytes (0 = no bound).
std::vector<at::Tensor> stacked_per_image(const at::Tensor& images,
                                          const std::function<std::vector<at::Tensor>(const at::Tensor&)>& outputs,
                                          int64_t max_bytes = 0) {
  std::vector<std::vector<at::Tensor>> rows;
  int64_t bytes = 0;
  for (int64_t k = 0; k < images.size(0); ++k) {
    std::vector<at::Tensor> out = outputs(images.narrow(0, k, 1));
    for (size_t i = 0; i < out.size(); ++i) {
      if (k == 0) rows.emplace_back();
      bytes += out[i].numel() * static_cast<int64_t>(out[i].element_size());
      rows[i].push_back(out[i]);
    }
    if (max_bytes > 0 && bytes > max_bytes) return {};
  }
  std::vector<at::Tensor> stacked;
  for (const auto& r : rows) stacked.push_back(at::cat(r));
  return stacked;
}

}  // namespace

void FewShotRecipe::load_style_images(c10::Device device) {
  const auto dataset = make_dataset(data_.style, "data.style");
  const int64_t side = student_->options().resolution;
  std::unique_ptr<data::FaceAligner> aligner;
  if (options_.style_align != "none")
    aligner = std::make_unique<data::FaceAligner>(data::FaceAlignerOptions{
        .rule = data::parse_crop_rule(options_.style_align, "recipe.style_align"), .size = static_cast<int>(side)});
  std::vector<at::Tensor> images;
  std::vector<int64_t> faceless;
  int64_t unreadable = 0;
  // One at a time: style photographs may differ in size.
  eval::for_each_eval_batch(
      dataset, {.batch_size = 1, .workers = 1, .seed = seed_, .limit = 1000, .max_bad_fraction = 1.0}, c10::kCPU,
      [&](const data::Batch& batch) {
        at::Tensor x = batch.at("image").to(at::kFloat);
        if (aligner) {
          const auto faces = aligner->align(data::to_mat(x[0]));
          if (faces.empty()) {
            faceless.push_back(batch.indices[0]);
            return;
          }
          x = data::to_tensor(faces[0].image).unsqueeze(0);
        }
        if (x.size(2) != side || x.size(3) != side)
          x = at::upsample_bilinear2d(x, {side, side}, /*align_corners=*/false);
        images.push_back(x * 2 - 1);
      },
      &unreadable);
  if (!faceless.empty())
    LOOM_WARN("data.style: no face found in ", faceless.size(), " image(s) of ", dataset->describe(), " (indices ",
              join(faceless, ", "), "); they are left out");
  if (images.empty())
    throw UserError(cat("data.style: ", dataset->describe(), " gave no usable style image (", unreadable,
                        " unreadable, ", faceless.size(), " without a face)"));
  styles_ = at::cat(images).to(device);
  LOOM_INFO("style images: ", styles_.size(0), " from ", dataset->describe(),
            unreadable ? cat(" (", unreadable, " unreadable, skipped)") : std::string());
  c10::NoGradGuard no_grad;
  style_codes_ = invert(*encoder_, styles_, student_->mapping->w_avg);
  // The perceptual targets are always style images: their VGG features once, a third of a step's
  // backbone work, unless N makes them too large to keep (some 32 MB per 256 px image).
  if (perceptual_)
    style_features_ = stacked_per_image(
        styles_, [&](const at::Tensor& x) { return perceptual_->target_features(x); }, int64_t{1} << 30);
  if (discriminator_) style_d_ = stacked_per_image(styles_, [&](const at::Tensor& x) { return d_outputs(x); });
}

std::vector<at::Tensor> FewShotRecipe::d_outputs(const at::Tensor& images) {
  std::vector<at::Tensor> all = discriminator_->features(images, {});
  if (!r_.d_blocks) return {all.back()};
  all.pop_back();
  return all;
}

LossOutput FewShotRecipe::loss(const data::Batch& batch, const StepInfo& info) {
  const at::Tensor& z = batch.at("z");
  const int64_t n = z.size(0), num_styles = styles_.size(0);
  const int64_t first = (info.step * info.micro_batches + info.micro_batch) * n;
  const at::Tensor k = at::arange(first, first + n, z.options().dtype(at::kLong)).remainder(num_styles);
  const at::Tensor codes = style_codes_.index_select(0, k), targets = styles_.index_select(0, k);
  const int64_t num_ws = codes.size(1);
  at::Tensor random_w;
  {
    c10::NoGradGuard no_grad;
    random_w = student_->mapping->forward(z, {}, 1.0, -1, false).narrow(1, 0, num_ws);
  }
  // w[l] = a·s[l] + (1 − a)·w_rand[l] on the swap layers, s elsewhere.
  const at::Tensor ws = codes + swap_mask_ * (1.0 - r_.style_weight_on_swap) * (random_w - codes);
  const at::Tensor image = student_->synthesis->forward(ws, NoiseMode::random, {}, false).image;
  TensorFigures losses;
  if (r_.l1 > 0) losses.emplace_back("l1", (image - targets).abs().mean() * r_.l1);
  if (r_.perceptual > 0) {
    at::Tensor term;
    if (style_features_.empty()) {
      term = perceptual_->forward(image, targets);
    } else {
      std::vector<at::Tensor> selected;
      for (const at::Tensor& f : style_features_) selected.push_back(f.index_select(0, k));
      term = perceptual_->forward(image, selected);
    }
    losses.emplace_back("perceptual", term.mean() * r_.perceptual);
  }
  if (r_.d_l1 > 0) {
    const std::vector<at::Tensor> fake = d_outputs(image);
    at::Tensor d = at::zeros({}, image.options());
    for (size_t i = 0; i < fake.size(); ++i) d = d + (fake[i] - style_d_[i].index_select(0, k)).abs().mean();
    losses.emplace_back("d_l1", d / static_cast<double>(fake.size()) * r_.d_l1);
  }
  return LossOutput{losses, {}};
}

at::Tensor FewShotRecipe::stylize(BlazeStyleGan& generator, const at::Tensor& images) {
  const at::Tensor ws = invert(*encoder_, images, generator.mapping->w_avg);
  return generator.synthesis->forward(ws, NoiseMode::constant, {}, false).image;
}

void FewShotRecipe::load_weight_file(const TrainSetup&, const std::filesystem::path& path) {
  const GeneratorFile file = read_generator(path);
  LOOM_INFO(weights::load_into(*student_, generator_weights(file), {}, file.source).summary());
}

void register_fewshot_recipe() {
  recipe_registry().add(
      "fewshot", [](const ConfigNode& config) { return std::make_shared<FewShotRecipe>(config); },
      "fine-tune a distilled student to a style from 1..N images (MediaPipe's face stylizer algorithm or "
      "JoJoGAN's): frozen encoder, mapping and D; style and content scores on held-out faces");
}

}  // namespace loom

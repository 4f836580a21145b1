// The distill recipe's evaluation, samples and weight loading (train/recipes/distill.h).
#include <algorithm>
#include <cstdio>

#include <ATen/ops/cat.h>
#include <ATen/ops/full.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/stack.h>

#include "core/log.h"
#include "data/image_grid.h"
#include "data/image_io.h"
#include "eval/metrics/generator_scores.h"
#include "models/blazestylegan/blazestylegan.h"
#include "models/model_metadata.h"
#include "models/stylegan2/generator_weights.h"
#include "models/stylegan2/latents.h"
#include "train/recipes/distill.h"

namespace loom {

eval::FeatureExtractor& DistillRecipe::extractor(c10::Device device) {
  if (!extractor_) {
    extractor_ = eval::make_feature_extractor(eval_.extractor, device);
    LOOM_INFO("FID/KID features: ", extractor_->name());
  }
  return *extractor_;
}

// Student and teacher images from the same fixed latents and noise maps at every evaluation: FID/KID
// of the student against the teacher's images and against data (and the teacher's own, for scale),
// and the perceptual distance of the first `lpips_samples` student images to the teacher's.
Scalars DistillRecipe::evaluate(const EvalContext& context) {
  BlazeStyleGan& student = student_for_output();
  eval::FeatureExtractor& features_of = extractor(context.device);
  const bool teacher_known = teacher_features_.defined();
  at::manual_seed(seed_ + 7);
  std::vector<at::Tensor> student_features, teacher_features;
  at::Tensor distance_sum = at::zeros({}, at::kDouble);
  for (int64_t done = 0; done < eval_.num_fake; done += eval_.batch_size) {
    const int64_t n = std::min(eval_.batch_size, eval_.num_fake - done);
    const at::Tensor z = at::randn({n, teacher_->options().z_dim}).to(context.device);
    const at::Tensor ws = teacher_->mapping->forward(z, {}, 1.0, -1, false);
    const std::vector<at::Tensor> noise = teacher_->synthesis->random_noise(n, context.device);
    const at::Tensor s = student.synthesis->forward(ws, NoiseMode::random, noise, false).image;
    student_features.push_back(features_of.features(eval::to_eight_bit_unit(s)));
    const int64_t compared = std::clamp<int64_t>(eval_.lpips_samples - done, 0, n);
    if (teacher_known && compared == 0) continue;
    const at::Tensor t = teacher_->synthesis->forward(ws, NoiseMode::random, false, noise);
    if (!teacher_known) teacher_features.push_back(features_of.features(eval::to_eight_bit_unit(t)));
    if (compared > 0)
      distance_sum +=
          perceptual_->forward(s.narrow(0, 0, compared), t.narrow(0, 0, compared)).sum().cpu().to(at::kDouble);
  }
  if (!teacher_known) teacher_features_ = at::cat(teacher_features);
  const at::Tensor student_all = at::cat(student_features);
  const std::string suffix = features_of.comparable_to_published() ? "" : "_fallback";
  const eval::KidSampling kid{.subsets = eval_.kid_subsets, .subset_size = eval_.kid_subset_size, .seed = seed_};
  Scalars out = eval::fid_and_kid(teacher_features_, student_all, "_to_teacher", suffix, kid);
  if (eval_data_) {
    if (!data_features_.defined())
      data_features_ = dataset_image_features(
          eval_data_, {.batch_size = eval_.batch_size, .workers = 2, .seed = seed_, .limit = eval_.num_real},
          context.device, features_of, "distill evaluation (data.eval)");
    for (auto& score : eval::fid_and_kid(data_features_, student_all, "_to_data", suffix, kid)) out.push_back(score);
    if (teacher_to_data_.empty())  // both feature sets are fixed: scored once
      teacher_to_data_ = eval::fid_and_kid(data_features_, teacher_features_, "_teacher_to_data", suffix, kid);
    out.insert(out.end(), teacher_to_data_.begin(), teacher_to_data_.end());
  }
  const int64_t compared = std::min(eval_.lpips_samples, eval_.num_fake);
  out.emplace_back("val/" + eval_perceptual_->metric_name() + "_to_teacher",
                   distance_sum.item<double>() / static_cast<double>(compared));
  if (options_.augment == "ada") out.emplace_back("val/augment_p", augment_.p());
  return out;
}

// Seeds 0 … count−1 with the z `loom generate seeds=` draws: the teacher's grid, then the student's,
// side by side (a one-image-wide gap between them).
void DistillRecipe::write_samples(const EvalContext& context) {
  BlazeStyleGan& student = student_for_output();
  std::vector<int64_t> seeds(static_cast<size_t>(sample_.count));
  for (int64_t i = 0; i < sample_.count; ++i) seeds[static_cast<size_t>(i)] = i;
  const at::Tensor z = z_from_seeds(seeds, teacher_->options().z_dim).to(context.device);
  const at::Tensor ws = teacher_->mapping->forward(z, {}, sample_.psi, -1, false);
  // The student holds copies of the teacher's constant noise maps (copy_teacher_mapping).
  const at::Tensor t = teacher_->synthesis->forward(ws, NoiseMode::constant).cpu();
  const at::Tensor s = student.synthesis->forward(ws, NoiseMode::constant, {}, false).image.cpu();
  const at::Tensor left = data::image_grid(t), right = data::image_grid(s);
  const at::Tensor gap = at::zeros({left.size(0), left.size(1), t.size(3)});
  const at::Tensor grid = at::cat({left, gap, right}, 2);
  write_sample_grid(context, "teacher_student", grid);
}

// A student weight file (export-weights, or a distill run's checkpoint): its model section must agree
// with the built student's, defaults included.
void DistillRecipe::load_weight_file(const TrainSetup&, const std::filesystem::path& path) {
  const GeneratorFile file = read_generator(path);
  if (file.model)
    reconcile_model_section(resolved_model_section(sections_.at("model"), "model"), "model", *file.model, file.source);
  const weights::NamedTensors state = generator_weights(file);
  LOOM_INFO(weights::load_into(*student_, state, {}, file.source).summary());
  if (student_ema_) weights::load_into(*student_ema_, state, {}, file.source);
}

}  // namespace loom

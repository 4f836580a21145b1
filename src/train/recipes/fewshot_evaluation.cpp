// The fewshot recipe's evaluation and samples (train/recipes/fewshot.h).
#include <ATen/ops/cat.h>
#include <ATen/ops/stack.h>
#include <ATen/ops/upsample_bilinear2d.h>
#include <ATen/ops/zeros.h>

#include <cmath>

#include "data/face/face_detector.h"
#include "data/image_grid.h"
#include "data/image_io.h"
#include "models/blazestylegan/blazestylegan.h"
#include "train/recipes/fewshot.h"

namespace loom {
namespace {

// Held-out faces at the generator's side in [-1, 1], and their landmarks moved to that side (or undefined).
struct EvalImages {
  at::Tensor images, landmarks;
};

EvalImages eval_images(const data::Batch& batch, int64_t side) {
  EvalImages out;
  at::Tensor x = batch.at("image").to(at::kFloat);
  const double scale = static_cast<double>(side) / static_cast<double>(x.size(3));
  if (x.size(2) != side || x.size(3) != side) x = at::upsample_bilinear2d(x, {side, side}, false);
  out.images = x * 2 - 1;
  if (auto it = batch.tensors.find("landmarks"); it != batch.tensors.end())
    out.landmarks = ((it->second.to(at::kDouble) + 0.5) * scale - 0.5).cpu();  // pixel-centre convention
  return out;
}

// Sum over images of dlib's mean landmark error (px) against the truth, and how many had a face.
struct LandmarkScore {
  double error_sum = 0;
  int64_t found = 0;
};

void score_landmarks(const data::FaceDetector& detector, const at::Tensor& images, const at::Tensor& truth,
                     LandmarkScore& score) {
  const at::Tensor unit = ((images.detach().cpu() + 1) / 2).clamp(0, 1);
  for (int64_t i = 0; i < unit.size(0); ++i) {
    const auto faces = detector.detect(data::to_mat(unit[i]));
    if (faces.empty()) continue;
    double sum = 0;
    const at::Tensor row = truth[i].contiguous();
    const auto t = row.accessor<double, 2>();
    for (int64_t k = 0; k < 68; ++k)
      sum += std::hypot(faces[0].landmarks[k].x - t[k][0], faces[0].landmarks[k].y - t[k][1]);
    score.error_sum += sum / 68;
    ++score.found;
  }
}

}  // namespace

// On held-out faces: the stylized output (fine-tuned student) and the reconstruction (untouched one)
// from the same codes. Style: Gram and LPIPS distances to each style image, averaged over them, for
// both (so the gain shows). Content: LPIPS of output to reconstruction, and dlib's landmark error.
Scalars FewShotRecipe::evaluate(const EvalContext& context) {
  Scalars out;
  if (!eval_data_) return out;
  const int64_t side = student_->options().resolution, num_styles = styles_.size(0);
  std::unique_ptr<data::FaceDetector> detector;
  double gram_after = 0, gram_before = 0, lpips_after = 0, lpips_before = 0, content = 0;
  LandmarkScore after, before;
  const int64_t n = eval::for_each_eval_batch(
      eval_data_, {.batch_size = eval_.batch_size, .workers = 1, .seed = seed_, .limit = eval_.num_images},
      context.device, [&](const data::Batch& batch) {
        const EvalImages e = eval_images(batch, side);
        const at::Tensor stylized = stylize(*student_, e.images), reconstruction = stylize(*original_, e.images);
        for (int64_t k = 0; k < num_styles; ++k) {
          const at::Tensor style = styles_.narrow(0, k, 1).expand_as(stylized);
          gram_after += gram_->forward(stylized, style).sum().item<double>();
          gram_before += gram_->forward(reconstruction, style).sum().item<double>();
          lpips_after += eval_perceptual_->forward(stylized, style).sum().item<double>();
          lpips_before += eval_perceptual_->forward(reconstruction, style).sum().item<double>();
        }
        content += eval_perceptual_->forward(stylized, reconstruction).sum().item<double>();
        if (eval_.landmarks && e.landmarks.defined()) {
          if (!detector) detector = std::make_unique<data::FaceDetector>();
          score_landmarks(*detector, stylized, e.landmarks, after);
          score_landmarks(*detector, reconstruction, e.landmarks, before);
        }
      });
  const double pairs = static_cast<double>(n * num_styles);
  const std::string lpips = eval_perceptual_->metric_name();
  out.emplace_back("val/style_gram", gram_after / pairs);
  out.emplace_back("val/style_gram_reconstruction", gram_before / pairs);
  out.emplace_back("val/style_" + lpips, lpips_after / pairs);
  out.emplace_back("val/style_" + lpips + "_reconstruction", lpips_before / pairs);
  out.emplace_back("val/content_" + lpips, content / static_cast<double>(n));
  if (detector) {
    const double faces = static_cast<double>(n);
    out.emplace_back("val/faces_found", static_cast<double>(after.found) / faces);
    out.emplace_back("val/faces_found_reconstruction", static_cast<double>(before.found) / faces);
    if (after.found) out.emplace_back("val/landmark_error_px", after.error_sum / static_cast<double>(after.found));
    if (before.found)
      out.emplace_back("val/landmark_error_px_reconstruction", before.error_sum / static_cast<double>(before.found));
  }
  return out;
}

// The style images, then rows of held-out faces: input | reconstruction | stylized.
void FewShotRecipe::write_samples(const EvalContext& context) {
  write_sample_grid(context, "styles", data::image_grid(styles_.cpu()));
  if (!eval_data_) return;
  const int64_t side = student_->options().resolution;
  at::Tensor rows;
  eval::for_each_eval_batch(
      eval_data_, {.batch_size = eval_.grid_images, .workers = 1, .seed = seed_, .limit = eval_.grid_images},
      context.device, [&](const data::Batch& batch) {
        if (rows.defined()) return;
        const at::Tensor x = eval_images(batch, side).images;
        const at::Tensor triple = at::stack({x, stylize(*original_, x), stylize(*student_, x)}, 1);
        rows = triple.flatten(0, 1).cpu();
      });
  if (rows.defined()) write_sample_grid(context, "input_reconstruction_stylized", data::image_grid(rows, 3));
}

}  // namespace loom

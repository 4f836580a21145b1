#include "train/ema.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <ATen/ops/lerp.h>
#include <c10/core/GradMode.h>
#include <torch/nn/module.h>

namespace loom {

double ema_beta(const EmaOptions& options, int64_t step, int64_t batch_images, int64_t images_seen) {
  if (step < options.start_step) return 0.0;
  if (options.half_life_images <= 0) return options.decay;
  double half_life = options.half_life_images;
  if (options.rampup > 0) half_life = std::min(half_life, static_cast<double>(images_seen) * options.rampup);
  return std::pow(0.5, static_cast<double>(batch_images) / std::max(half_life, 1e-8));
}

namespace {

template <class Items>
void check_same(const Items& target, const Items& source, const char* what) {
  if (target.size() != source.size())
    throw std::logic_error(cat("EMA: target has ", target.size(), " ", what, ", source ", source.size()));
}

}  // namespace

void ema_update(torch::nn::Module& target, const torch::nn::Module& source, double beta) {
  c10::NoGradGuard no_grad;
  auto tp = target.parameters(), sp = source.parameters();
  check_same(tp, sp, "parameters");
  for (size_t i = 0; i < tp.size(); ++i) {
    // lerp(source, target, β) = source + β (target − source): β = 0 copies the source exactly.
    tp[i].copy_(at::lerp(sp[i].detach(), tp[i], beta));
  }
  auto tb = target.buffers(), sb = source.buffers();
  check_same(tb, sb, "buffers");
  for (size_t i = 0; i < tb.size(); ++i) tb[i].copy_(sb[i]);
}

}  // namespace loom

#include "models/blazestylegan/blaze_synthesis.h"

#include <ATen/ops/randn.h>
#include <ATen/ops/upsample_bilinear2d.h>

#include "core/error.h"
#include "core/text/cat.h"
#include "nn/haar_wavelet.h"

namespace loom {

BlazeLevelImpl::BlazeLevelImpl(const BlazeStyleGanOptions& options, int64_t level)
    : resolution_(BlazeStyleGanOptions::level_resolution(level)), upsample_(options.level_upsample()) {
  const int64_t channels = options.channels.at(static_cast<size_t>(level));
  const StudentConv kind = options.conv_at(level);
  if (level == 0) {
    const_input = register_parameter("const", at::randn({channels, 4, 4}));
  } else {
    const int64_t below = options.channels.at(static_cast<size_t>(level - 1));
    const int64_t in = upsample_ == LevelUpsample::haar ? below / 4 : below;
    conv0 = register_module("conv0", StudentLayer(in, channels, options.w_dim, resolution_, kind,
                                                  upsample_ == LevelUpsample::transposed, options.conv_clamp));
  }
  conv1 = register_module(
      "conv1", StudentLayer(channels, channels, options.w_dim, resolution_, kind, false, options.conv_clamp));
  up_to_rgb = register_module("up_to_rgb", UpToRgb(channels, options.img_channels, options.w_dim, resolution_,
                                                   options.final(), options.conv_clamp));
  // Level l >= 1 adds 2 ws (its convs; its head shares the next conv's) or 3 (separate head ws).
  const int64_t per_level = options.head_ws == "shared" ? 2 : 3;
  w_conv1_ = per_level * level;
  if (conv0) w_conv0_ = w_conv1_ - 1;
  w_head_ = w_conv1_ + 1;
}

at::Tensor BlazeLevelImpl::forward(const at::Tensor& x_in, const at::Tensor& ws, NoiseMode noise_mode,
                                   const std::vector<at::Tensor>& noise) {
  auto map = [&](int64_t conv) {
    return noise.empty() ? at::Tensor() : noise[static_cast<size_t>(noise_map_index(resolution_, conv))];
  };
  at::Tensor x;
  if (!conv0) {
    x = const_input.unsqueeze(0).expand({ws.size(0), -1, -1, -1});
  } else {
    x = x_in;
    if (upsample_ == LevelUpsample::haar) x = nn::haar_idwt(x);
    if (upsample_ == LevelUpsample::bilinear) x = at::upsample_bilinear2d(x, {resolution_, resolution_}, false);
    x = conv0->forward(x, ws.select(1, w_conv0_), noise_mode, map(0));
  }
  return conv1->forward(x, ws.select(1, w_conv1_), noise_mode, map(1));
}

at::Tensor BlazeLevelImpl::image(const at::Tensor& features, const at::Tensor& ws) {
  return up_to_rgb->forward(features, ws.select(1, w_head_));
}

int64_t BlazeLevelImpl::multiply_accumulates(bool with_head) const {
  return (conv0 ? conv0->multiply_accumulates() : 0) + conv1->multiply_accumulates() +
         (with_head ? up_to_rgb->multiply_accumulates() : 0);
}

BlazeSynthesisImpl::BlazeSynthesisImpl(const BlazeStyleGanOptions& options)
    : num_ws_(options.synthesis_num_ws()), resolution_(options.resolution), w_dim_(options.w_dim) {
  if (const auto problem = find_problem(options)) throw UserError(cat("model.", problem->key, ": ", problem->message));
  for (int64_t level = 0; level < options.num_levels(); ++level) {
    BlazeLevel block(options, level);
    levels_.push_back(register_module(cat("b", block->resolution()), block));
  }
}

StudentImages BlazeSynthesisImpl::forward(const at::Tensor& ws_in, NoiseMode noise_mode,
                                          const std::vector<at::Tensor>& noise, bool all_levels) {
  if (ws_in.dim() != 3 || ws_in.size(1) < num_ws_ || ws_in.size(2) != w_dim_)
    throw UserError(cat("BlazeStyleGAN synthesis: ws must be [N, >= ", num_ws_, ", ", w_dim_, "] (it reads the first ",
                        num_ws_, " of the teacher's W+), got ", ws_in.sizes()));
  const int64_t n = ws_in.size(0);
  std::vector<at::Tensor> maps;
  if (!noise.empty()) {
    if (static_cast<int64_t>(noise.size()) < num_noise_maps())
      throw UserError(cat("BlazeStyleGAN synthesis: ", noise.size(), " noise maps given, it reads the first ",
                          num_noise_maps(), " of the teacher's layout (b4.conv1, b8.conv0, b8.conv1, … b",
                          levels_.back()->resolution(), ".conv1)"));
    maps = checked_noise_maps(noise, n, levels_.back()->resolution());
  }
  const at::Tensor ws = ws_in.narrow(1, 0, num_ws_).to(levels_.front()->const_input.scalar_type());
  StudentImages out;
  at::Tensor x;
  for (size_t l = 0; l < levels_.size(); ++l) {
    x = levels_[l]->forward(x, ws, noise_mode, maps);
    if (!all_levels && l + 1 < levels_.size()) continue;
    out.image = levels_[l]->image(x, ws);
    if (all_levels) out.levels.push_back(out.image);
  }
  return out;
}

std::vector<int64_t> BlazeSynthesisImpl::level_resolutions() const {
  std::vector<int64_t> sides;
  for (const auto& level : levels_) sides.push_back(level->resolution() * level->up_to_rgb->output_scale());
  return sides;
}

int64_t BlazeSynthesisImpl::num_noise_maps() const { return noise_map_count(levels_.back()->resolution()); }

int64_t BlazeSynthesisImpl::multiply_accumulates(bool all_levels) const {
  int64_t macs = 0;
  for (size_t l = 0; l < levels_.size(); ++l)
    macs += levels_[l]->multiply_accumulates(all_levels || l + 1 == levels_.size());
  return macs;
}

}  // namespace loom

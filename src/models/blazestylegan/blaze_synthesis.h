#pragma once
// The BlazeStyleGAN student's synthesis network (blazestylegan_options.h has the settings). Levels
// b4, b8, …: b4 starts from the learned `const` [C, 4, 4] and has conv1; every other level upsamples
// the previous level's features ×2 (upsample: haar inverse DWT, C -> C/4 channels; bilinear; or
// transposed, in conv0 itself) and has conv0 and conv1; each level has its own UpToRGB head (the
// heads are not summed, unlike the teacher's skip images, so inference runs only the last one).
//
// Parameter names (NVlabs-like, stable):
//   synthesis.b4.const                       [C0, 4, 4]
//   synthesis.b{r}.conv{0,1}.affine.{weight,bias}, .weight (full) | .weight_dw + .weight_permute
//                                            (depthwise), .bias, .noise_strength; buffers .noise_const
//                                            [r, r] and (transposed) .resample_filter
//   synthesis.b{r}.up_to_rgb.affine.{weight,bias}, .weight [K, C, 1, 1], .bias [K]
//
// Noise maps are the teacher's (noise_map_index in models/stylegan2/synthesis_layer.h): the student's
// b{r}.conv{c} takes the teacher's b{r}.conv{c} map, so both can be fed one random_noise() list; a
// longer list is fine (the teacher's higher layers are not read).
#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "models/blazestylegan/blazestylegan_options.h"
#include "models/blazestylegan/student_layers.h"
#include "models/blazestylegan/up_to_rgb.h"

namespace loom {

struct StudentImages {
  std::vector<at::Tensor> levels;  // every head's RGB, ascending (level_resolutions()); empty unless all_levels
  at::Tensor image;                // the final RGB [N, C, R, R]
};

class BlazeLevelImpl : public torch::nn::Module {
 public:
  BlazeLevelImpl(const BlazeStyleGanOptions& options, int64_t level);
  // The level's features from the previous level's (undefined for b4); ws the student's [N, num_ws,
  // w_dim]; noise the teacher-layout maps, already checked, or empty.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& ws, NoiseMode noise_mode,
                     const std::vector<at::Tensor>& noise);
  at::Tensor image(const at::Tensor& features, const at::Tensor& ws);  // the UpToRGB head
  int64_t resolution() const { return resolution_; }
  int64_t multiply_accumulates(bool with_head) const;
  LevelUpsample upsample() const { return upsample_; }
  // The rows of ws that conv0 (-1: none), conv1 and the head read.
  int64_t w_conv0() const { return w_conv0_; }
  int64_t w_conv1() const { return w_conv1_; }
  int64_t w_head() const { return w_head_; }

  at::Tensor const_input;  // "const"
  StudentLayer conv0{nullptr}, conv1{nullptr};
  UpToRgb up_to_rgb{nullptr};

 private:
  int64_t resolution_;
  LevelUpsample upsample_;
  int64_t w_conv0_ = -1, w_conv1_, w_head_;  // indices into ws (head_ws rule)
};
TORCH_MODULE(BlazeLevel);

class BlazeSynthesisImpl : public torch::nn::Module {
 public:
  explicit BlazeSynthesisImpl(const BlazeStyleGanOptions& options);
  // ws [N, >= num_ws, w_dim]: the teacher's W+, of which the first num_ws are read. A non-empty `noise`
  // (at least num_noise_maps() maps in the teacher's layout, [r, r], [1, 1, r, r] or [N, 1, r, r])
  // replaces the layers' noise whatever noise_mode says. all_levels = false runs only the last head.
  StudentImages forward(const at::Tensor& ws, NoiseMode noise_mode = NoiseMode::random,
                        const std::vector<at::Tensor>& noise = {}, bool all_levels = true);
  int64_t num_ws() const { return num_ws_; }
  int64_t w_dim() const { return w_dim_; }
  int64_t resolution() const { return resolution_; }
  std::vector<int64_t> level_resolutions() const;  // RGB side of each entry of StudentImages::levels
  int64_t num_noise_maps() const;                  // teacher-layout maps read: up to the last level's conv1
  // For one sample, under stylegan.md §5.2's convention (student_layers.h): inference (the last head
  // only), or the training forward with every head.
  int64_t multiply_accumulates(bool all_levels = false) const;
  const std::vector<BlazeLevel>& levels() const { return levels_; }

 private:
  std::vector<BlazeLevel> levels_;
  int64_t num_ws_, resolution_, w_dim_;
};
TORCH_MODULE(BlazeSynthesis);

}  // namespace loom

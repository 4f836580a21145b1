#pragma once
// StyleGAN2 synthesis network, 'skip' architecture (NVlabs SynthesisNetwork / SynthesisBlock): blocks
// b4 … bR; b4 starts from the learned `const` [C, 4, 4] and has conv1, every other block has conv0
// (upsampling) and conv1; each block adds its ToRGB output to the FIR-upsampled image of the block
// below. Block ws overlap: a block reads its convs' ws and the next one for torgb, so
// num_ws = 2·log2(R) − 2. Noise maps can be given (noise_map_index's layout, synthesis_layer.h), so a
// student fed the same maps can be compared with it, and the image after every block read out.
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "models/stylegan2/stylegan2_options.h"
#include "models/stylegan2/synthesis_layer.h"

namespace loom {

class SynthesisBlockImpl : public torch::nn::Module {
 public:
  // in_channels 0 makes the 4x4 block with the constant input.
  SynthesisBlockImpl(int64_t in_channels, int64_t out_channels, int64_t w_dim, int64_t resolution, int64_t img_channels,
                     bool use_fp16, std::optional<double> conv_clamp);
  // ws [N, num_conv + 1, w_dim]; x and img undefined for b4; `noise` empty or the maps of conv0 (when
  // there is one) and conv1, shaped by checked_noise_maps. Returns (features, image).
  std::pair<at::Tensor, at::Tensor> forward(const at::Tensor& x, const at::Tensor& img, const at::Tensor& ws,
                                            NoiseMode noise_mode, bool force_fp32, at::TensorList noise = {});
  int64_t num_conv() const { return conv0 ? 2 : 1; }
  int64_t multiply_accumulates() const;

  at::Tensor const_input;  // "const"
  SynthesisLayer conv0{nullptr}, conv1{nullptr};
  ToRgbLayer torgb{nullptr};
  at::Tensor resample_filter;

 private:
  bool use_fp16_;
};
TORCH_MODULE(SynthesisBlock);

class SynthesisNetworkImpl : public torch::nn::Module {
 public:
  explicit SynthesisNetworkImpl(const StyleGan2Options& options);
  // ws [N, num_ws, w_dim] -> images [N, img_channels, R, R] (float32, roughly [-1, 1]). A non-empty
  // `noise` holds one map per layer (num_noise_maps(), [r, r], [1, 1, r, r] or [N, 1, r, r]) that
  // replaces the layers' noise whatever noise_mode says; UserError naming the layer otherwise.
  at::Tensor forward(const at::Tensor& ws, NoiseMode noise_mode = NoiseMode::random, bool force_fp32 = false,
                     const std::vector<at::Tensor>& noise = {});
  // The skip-architecture image after every block (4x4, 8x8, …, RxR); the last is forward()'s.
  std::vector<at::Tensor> forward_levels(const at::Tensor& ws, NoiseMode noise_mode = NoiseMode::random,
                                         const std::vector<at::Tensor>& noise = {}, bool force_fp32 = false);
  // Fresh maps [n, 1, r, r] float32 for every layer, drawn in the order (and so from the same random
  // stream) that NoiseMode::random draws them.
  std::vector<at::Tensor> random_noise(int64_t n, c10::Device device) const;
  int64_t num_noise_maps() const;
  int64_t num_ws() const { return num_ws_; }
  int64_t multiply_accumulates() const;
  const std::vector<SynthesisBlock>& blocks() const { return blocks_; }

 private:
  // The image of every block when `levels` is given, else only the last.
  at::Tensor run(const at::Tensor& ws, NoiseMode noise_mode, bool force_fp32, const std::vector<at::Tensor>& noise,
                 std::vector<at::Tensor>* levels);

  std::vector<SynthesisBlock> blocks_;
  int64_t num_ws_ = 0;
  int64_t w_dim_;
};
TORCH_MODULE(SynthesisNetwork);

}  // namespace loom

#pragma once
// StyleGAN2 synthesis network, 'skip' architecture (NVlabs SynthesisNetwork / SynthesisBlock): blocks
// b4 … bR; b4 starts from the learned `const` [C, 4, 4] and has conv1, every other block has conv0
// (upsampling) and conv1; each block adds its ToRGB output to the FIR-upsampled image of the block
// below. Block ws overlap: a block reads its convs' ws and the next one for torgb, so
// num_ws = 2·log2(R) − 2.
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>
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
  // ws [N, num_conv + 1, w_dim]; x and img undefined for b4. Returns (features, image).
  std::pair<at::Tensor, at::Tensor> forward(const at::Tensor& x, const at::Tensor& img, const at::Tensor& ws,
                                            NoiseMode noise_mode, bool force_fp32);
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
  // ws [N, num_ws, w_dim] -> images [N, img_channels, R, R] (float32, roughly [-1, 1]).
  at::Tensor forward(const at::Tensor& ws, NoiseMode noise_mode = NoiseMode::random, bool force_fp32 = false);
  int64_t num_ws() const { return num_ws_; }
  int64_t multiply_accumulates() const;
  const std::vector<SynthesisBlock>& blocks() const { return blocks_; }

 private:
  std::vector<SynthesisBlock> blocks_;
  int64_t num_ws_ = 0;
  int64_t w_dim_;
};
TORCH_MODULE(SynthesisNetwork);

}  // namespace loom

#pragma once
// StyleGAN2 discriminator, 'resnet' architecture (NVlabs Discriminator): blocks bR … b8 — fromrgb (top
// block only), conv0 3x3, conv1 3x3 with FIR downsampling, and a 1x1 FIR-downsampling `skip`, merged
// with gain √0.5 — then the epilogue b4: minibatch standard deviation, conv, fc, out. With c_dim > 0 a
// label mapping network gives the projection-conditioning embedding (cmap).
#include <cstdint>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "models/stylegan2/mapping_network.h"
#include "models/stylegan2/stylegan2_options.h"
#include "nn/equalized_conv2d.h"
#include "nn/equalized_linear.h"

namespace loom {

// Appends, per sample, the standard deviation over its group (samples i, i + N/G, …) averaged over
// channels (split into `num_channels` groups) and pixels as extra feature maps. N must be a multiple
// of min(group_size, N).
at::Tensor minibatch_stddev(const at::Tensor& x, int64_t group_size, int64_t num_channels);

class DiscriminatorBlockImpl : public torch::nn::Module {
 public:
  // in_channels 0 = the top block, which reads the image through fromrgb. first_layer counts the
  // layers of the blocks above for Freeze-D.
  DiscriminatorBlockImpl(int64_t in_channels, int64_t tmp_channels, int64_t out_channels, int64_t resolution,
                         const StyleGan2Options& options, int64_t first_layer, bool use_fp16);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& img, bool force_fp32);
  int64_t num_layers() const { return num_layers_; }
  int64_t multiply_accumulates() const;

  nn::EqualizedConv2d fromrgb{nullptr}, conv0{nullptr}, conv1{nullptr}, skip{nullptr};
  at::Tensor resample_filter;

 private:
  int64_t resolution_;
  int64_t num_layers_ = 0;
  bool use_fp16_;
};
TORCH_MODULE(DiscriminatorBlock);

class DiscriminatorEpilogueImpl : public torch::nn::Module {
 public:
  DiscriminatorEpilogueImpl(int64_t in_channels, int64_t cmap_dim, const StyleGan2Options& options);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& cmap);
  int64_t multiply_accumulates() const;

  nn::EqualizedConv2d conv{nullptr};
  nn::EqualizedLinear fc{nullptr}, out{nullptr};

 private:
  int64_t group_size_, mbstd_channels_, cmap_dim_;
};
TORCH_MODULE(DiscriminatorEpilogue);

class DiscriminatorImpl : public torch::nn::Module {
 public:
  explicit DiscriminatorImpl(const StyleGan2Options& options);
  // images [N, C, R, R], c [N, c_dim] or undefined -> logits [N, 1].
  at::Tensor forward(const at::Tensor& img, const at::Tensor& c, bool force_fp32 = false);
  // Every block's output (bR … b8) and then the logits: the feature list JoJoGAN's feature-matching
  // loss compares (its frozen D returns the outputs of its residual blocks).
  std::vector<at::Tensor> features(const at::Tensor& img, const at::Tensor& c, bool force_fp32 = false);
  int64_t multiply_accumulates() const;

 private:
  void check_images(const at::Tensor& img) const;

  StyleGan2Options options_;
  std::vector<DiscriminatorBlock> blocks_;
  MappingNetwork mapping_{nullptr};
  DiscriminatorEpilogue epilogue_{nullptr};
};
TORCH_MODULE(Discriminator);

}  // namespace loom

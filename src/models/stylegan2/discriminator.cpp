#include "models/stylegan2/discriminator.h"

#include <cmath>

#include <ATen/ops/cat.h>
#include <ATen/ops/sqrt.h>

#include "core/error.h"
#include "core/text/cat.h"
#include "nn/upfirdn2d.h"

namespace loom {

at::Tensor minibatch_stddev(const at::Tensor& x, int64_t group_size, int64_t num_channels) {
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  const int64_t g = std::min(group_size, n);
  if (n % g != 0)
    throw UserError(cat("minibatch stddev: the batch (", n, ") must be a multiple of the group size (", g,
                        "); change the batch size or model.mbstd_group_size"));
  at::Tensor y = x.reshape({g, -1, num_channels, c / num_channels, h, w});
  y = y - y.mean(0);
  y = at::sqrt(y.square().mean(0) + 1e-8);  // [n, F, c, H, W]: stddev over the group
  y = y.mean({2, 3, 4}).reshape({-1, num_channels, 1, 1});
  return at::cat({x, y.repeat({g, 1, h, w})}, 1);
}

DiscriminatorBlockImpl::DiscriminatorBlockImpl(int64_t in_channels, int64_t tmp_channels, int64_t out_channels,
                                               int64_t resolution, const StyleGan2Options& options, int64_t first_layer,
                                               bool use_fp16)
    : resolution_(resolution), use_fp16_(use_fp16) {
  auto layer = [&](nn::EqualizedConv2dOptions o) {
    o.trainable = first_layer + num_layers_++ >= options.freeze_d_layers;
    return o;
  };
  const auto lrelu = nn::BiasActivation::lrelu;
  resample_filter = register_buffer("resample_filter", nn::make_resample_filter());
  if (in_channels == 0)
    fromrgb =
        register_module("fromrgb", nn::EqualizedConv2d(options.img_channels, tmp_channels, 1,
                                                       layer({.activation = lrelu, .conv_clamp = options.conv_clamp})));
  conv0 = register_module("conv0", nn::EqualizedConv2d(tmp_channels, tmp_channels, 3,
                                                       layer({.activation = lrelu, .conv_clamp = options.conv_clamp})));
  conv1 = register_module(
      "conv1", nn::EqualizedConv2d(tmp_channels, out_channels, 3,
                                   layer({.activation = lrelu, .down = 2, .conv_clamp = options.conv_clamp})));
  skip = register_module("skip", nn::EqualizedConv2d(tmp_channels, out_channels, 1, layer({.bias = false, .down = 2})));
}

at::Tensor DiscriminatorBlockImpl::forward(const at::Tensor& x_in, const at::Tensor& img, bool force_fp32) {
  const bool half = use_fp16_ && !force_fp32 && img.is_cuda();
  const auto dtype = half ? at::kHalf : conv0->weight.scalar_type();
  at::Tensor x = x_in.defined() ? x_in.to(dtype) : at::Tensor();
  if (fromrgb) {
    at::Tensor y = fromrgb->forward(img.to(dtype));
    x = x.defined() ? x + y : y;
  }
  const double half_gain = std::sqrt(0.5);
  at::Tensor y = skip->forward(x, half_gain);
  x = conv1->forward(conv0->forward(x), half_gain);
  return y + x;
}

int64_t DiscriminatorBlockImpl::multiply_accumulates() const {
  const int64_t r = resolution_;
  return (fromrgb ? fromrgb->multiply_accumulates(r, r) : 0) + conv0->multiply_accumulates(r, r) +
         conv1->multiply_accumulates(r, r) + skip->multiply_accumulates(r, r);
}

DiscriminatorEpilogueImpl::DiscriminatorEpilogueImpl(int64_t in_channels, int64_t cmap_dim,
                                                     const StyleGan2Options& options)
    : group_size_(options.mbstd_group_size), mbstd_channels_(options.mbstd_channels), cmap_dim_(cmap_dim) {
  const auto lrelu = nn::BiasActivation::lrelu;
  conv = register_module(
      "conv", nn::EqualizedConv2d(in_channels + mbstd_channels_, in_channels, 3,
                                  nn::EqualizedConv2dOptions{.activation = lrelu, .conv_clamp = options.conv_clamp}));
  fc = register_module(
      "fc", nn::EqualizedLinear(in_channels * 16, in_channels, nn::EqualizedLinearOptions{.activation = lrelu}));
  out = register_module("out", nn::EqualizedLinear(in_channels, cmap_dim == 0 ? 1 : cmap_dim));
}

at::Tensor DiscriminatorEpilogueImpl::forward(const at::Tensor& x_in, const at::Tensor& cmap) {
  at::Tensor x = x_in.to(conv->weight.scalar_type());
  if (mbstd_channels_ > 0) x = minibatch_stddev(x, group_size_, mbstd_channels_);
  x = out->forward(fc->forward(conv->forward(x).flatten(1)));
  if (cmap_dim_ > 0) x = (x * cmap).sum(1, true) * (1.0 / std::sqrt(static_cast<double>(cmap_dim_)));
  return x;
}

int64_t DiscriminatorEpilogueImpl::multiply_accumulates() const {
  return conv->multiply_accumulates(4, 4) + fc->weight.numel() + out->weight.numel();
}

DiscriminatorImpl::DiscriminatorImpl(const StyleGan2Options& options) : options_(options) {
  const int64_t fp16_from = options.num_fp16_res > 0 ? options.fp16_resolution() : options.resolution * 2;
  int64_t layer = 0;
  for (int64_t res = options.resolution; res > 4; res /= 2) {
    const int64_t in = res < options.resolution ? options.channels_at(res) : 0;
    DiscriminatorBlock block(in, options.channels_at(res), options.channels_at(res / 2), res, options, layer,
                             res >= fp16_from);
    blocks_.push_back(register_module(cat("b", res), block));
    layer += block->num_layers();
  }
  const int64_t cmap_dim = options.c_dim > 0 ? options.channels_at(4) : 0;
  // NVlabs builds the label embedding with MappingNetwork's defaults (8 layers, lr multiplier 0.01)
  // whatever depth the generator's mapping has.
  if (options.c_dim > 0)
    mapping_ = register_module(
        "mapping",
        MappingNetwork(MappingOptions{
            .z_dim = 0, .c_dim = options.c_dim, .w_dim = cmap_dim, .num_ws = 0, .w_avg_beta = std::nullopt}));
  epilogue_ = register_module("b4", DiscriminatorEpilogue(options.channels_at(4), cmap_dim, options));
}

void DiscriminatorImpl::check_images(const at::Tensor& img) const {
  const int64_t r = options_.resolution;
  if (img.dim() != 4 || img.size(1) != options_.img_channels || img.size(2) != r || img.size(3) != r)
    throw UserError(
        cat("discriminator: images must be [N, ", options_.img_channels, ", ", r, ", ", r, "], got ", img.sizes()));
}

at::Tensor DiscriminatorImpl::forward(const at::Tensor& img, const at::Tensor& c, bool force_fp32) {
  return features(img, c, force_fp32).back();
}

std::vector<at::Tensor> DiscriminatorImpl::features(const at::Tensor& img, const at::Tensor& c, bool force_fp32) {
  check_images(img);
  std::vector<at::Tensor> out;
  at::Tensor x;
  for (auto& block : blocks_) out.push_back(x = block->forward(x, img, force_fp32));
  at::Tensor cmap = mapping_ ? mapping_->forward(at::Tensor(), c) : at::Tensor();
  out.push_back(epilogue_->forward(x, cmap));
  return out;
}

int64_t DiscriminatorImpl::multiply_accumulates() const {
  int64_t macs = epilogue_->multiply_accumulates() + (mapping_ ? mapping_->multiply_accumulates() : 0);
  for (const auto& block : blocks_) macs += block->multiply_accumulates();
  return macs;
}

}  // namespace loom

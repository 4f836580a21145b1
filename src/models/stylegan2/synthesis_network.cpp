#include "models/stylegan2/synthesis_network.h"

#include <ATen/ops/randn.h>

#include "core/error.h"
#include "core/text/cat.h"
#include "nn/upfirdn2d.h"

namespace loom {

SynthesisBlockImpl::SynthesisBlockImpl(int64_t in_channels, int64_t out_channels, int64_t w_dim, int64_t resolution,
                                       int64_t img_channels, bool use_fp16, std::optional<double> conv_clamp)
    : use_fp16_(use_fp16) {
  resample_filter = register_buffer("resample_filter", nn::make_resample_filter());
  if (in_channels == 0)
    const_input = register_parameter("const", at::randn({out_channels, resolution, resolution}));
  else
    conv0 = register_module("conv0", SynthesisLayer(in_channels, out_channels, w_dim, resolution, 2, conv_clamp));
  conv1 = register_module("conv1", SynthesisLayer(out_channels, out_channels, w_dim, resolution, 1, conv_clamp));
  torgb = register_module("torgb", ToRgbLayer(out_channels, img_channels, w_dim, resolution, conv_clamp));
}

std::pair<at::Tensor, at::Tensor> SynthesisBlockImpl::forward(const at::Tensor& x_in, const at::Tensor& img_in,
                                                              const at::Tensor& ws, NoiseMode noise_mode,
                                                              bool force_fp32) {
  // float16 only where NVlabs uses it and only on CUDA: CPU convolutions gain nothing from it.
  const bool half = use_fp16_ && !force_fp32 && ws.is_cuda();
  const auto full = conv1->weight.scalar_type();  // float32, or float64 for gradient checks
  const auto dtype = half ? at::kHalf : full;
  at::Tensor x;
  int64_t w_index = 0;
  if (conv0) {
    x = conv0->forward(x_in.to(dtype), ws.select(1, w_index++), noise_mode);
  } else {
    x = const_input.to(dtype).unsqueeze(0).expand({ws.size(0), -1, -1, -1});
  }
  x = conv1->forward(x, ws.select(1, w_index++), noise_mode);
  at::Tensor img = img_in.defined() ? nn::upsample2d(img_in, resample_filter) : at::Tensor();
  at::Tensor y = torgb->forward(x, ws.select(1, w_index)).to(full);
  img = img.defined() ? img + y : y;
  return {x, img};
}

int64_t SynthesisBlockImpl::multiply_accumulates() const {
  return (conv0 ? conv0->multiply_accumulates() : 0) + conv1->multiply_accumulates() + torgb->multiply_accumulates();
}

SynthesisNetworkImpl::SynthesisNetworkImpl(const StyleGan2Options& options) : w_dim_(options.w_dim) {
  const int64_t fp16_from = options.num_fp16_res > 0 ? options.fp16_resolution() : options.resolution * 2;
  for (int64_t res = 4; res <= options.resolution; res *= 2) {
    const int64_t in = res > 4 ? options.channels_at(res / 2) : 0;
    SynthesisBlock block(in, options.channels_at(res), options.w_dim, res, options.img_channels, res >= fp16_from,
                         options.conv_clamp);
    blocks_.push_back(register_module(cat("b", res), block));
    num_ws_ += block->num_conv();
  }
  num_ws_ += 1;  // the last block's torgb
}

at::Tensor SynthesisNetworkImpl::forward(const at::Tensor& ws, NoiseMode noise_mode, bool force_fp32) {
  if (ws.dim() != 3 || ws.size(1) != num_ws_ || ws.size(2) != w_dim_)
    throw UserError(cat("synthesis network: ws must be [N, ", num_ws_, ", ", w_dim_, "], got ", ws.sizes()));
  at::Tensor x, img;
  int64_t w_index = 0;
  for (auto& block : blocks_) {
    const int64_t n = block->num_conv();
    std::tie(x, img) = block->forward(x, img, ws.narrow(1, w_index, n + 1).to(block->conv1->weight.scalar_type()),
                                      noise_mode, force_fp32);
    w_index += n;
  }
  return img;
}

int64_t SynthesisNetworkImpl::multiply_accumulates() const {
  int64_t macs = 0;
  for (const auto& block : blocks_) macs += block->multiply_accumulates();
  return macs;
}

}  // namespace loom

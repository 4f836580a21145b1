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
                                                              bool force_fp32, at::TensorList noise) {
  // float16 only where NVlabs uses it and only on CUDA: CPU convolutions gain nothing from it.
  const bool half = use_fp16_ && !force_fp32 && ws.is_cuda();
  const auto full = conv1->weight.scalar_type();  // float32, or float64 for gradient checks
  const auto dtype = half ? at::kHalf : full;
  // `noise` holds conv0's map (where there is a conv0), then conv1's.
  const at::Tensor no_map;
  at::Tensor x;
  int64_t w_index = 0;
  if (conv0) {
    x = conv0->forward(x_in.to(dtype), ws.select(1, w_index++), noise_mode, noise.empty() ? no_map : noise.front());
  } else {
    x = const_input.to(dtype).unsqueeze(0).expand({ws.size(0), -1, -1, -1});
  }
  x = conv1->forward(x, ws.select(1, w_index++), noise_mode, noise.empty() ? no_map : noise.back());
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

at::Tensor SynthesisNetworkImpl::forward(const at::Tensor& ws, NoiseMode noise_mode, bool force_fp32,
                                         const std::vector<at::Tensor>& noise) {
  return run(ws, noise_mode, force_fp32, noise, nullptr);
}

std::vector<at::Tensor> SynthesisNetworkImpl::forward_levels(const at::Tensor& ws, NoiseMode noise_mode,
                                                             const std::vector<at::Tensor>& noise, bool force_fp32) {
  std::vector<at::Tensor> levels;
  run(ws, noise_mode, force_fp32, noise, &levels);
  return levels;
}

at::Tensor SynthesisNetworkImpl::run(const at::Tensor& ws, NoiseMode noise_mode, bool force_fp32,
                                     const std::vector<at::Tensor>& noise, std::vector<at::Tensor>* levels) {
  if (ws.dim() != 3 || ws.size(1) != num_ws_ || ws.size(2) != w_dim_)
    throw UserError(cat("synthesis network: ws must be [N, ", num_ws_, ", ", w_dim_, "], got ", ws.sizes()));
  if (!noise.empty() && static_cast<int64_t>(noise.size()) != num_noise_maps())
    throw UserError(cat("synthesis network: ", noise.size(), " noise maps given, it has ", num_noise_maps(),
                        " layers (b4.conv1, b8.conv0, b8.conv1, …)"));
  const std::vector<at::Tensor> maps =
      noise.empty() ? noise : checked_noise_maps(noise, ws.size(0), blocks_.back()->conv1->resolution());
  at::Tensor x, img;
  int64_t w_index = 0;
  for (auto& block : blocks_) {
    const int64_t n = block->num_conv();
    const at::TensorList block_maps =
        maps.empty() ? at::TensorList()
                     : at::TensorList(maps).slice(noise_map_index(block->conv1->resolution(), 2 - n), n);
    std::tie(x, img) = block->forward(x, img, ws.narrow(1, w_index, n + 1).to(block->conv1->weight.scalar_type()),
                                      noise_mode, force_fp32, block_maps);
    if (levels) levels->push_back(img);
    w_index += n;
  }
  return img;
}

std::vector<at::Tensor> SynthesisNetworkImpl::random_noise(int64_t n, c10::Device device) const {
  std::vector<at::Tensor> maps;
  for (const auto& block : blocks_) {
    const int64_t r = block->conv1->resolution();
    for (int64_t c = 2 - block->num_conv(); c < 2; ++c)
      maps.push_back(at::randn({n, 1, r, r}, at::TensorOptions().dtype(at::kFloat).device(device)));
  }
  return maps;
}

int64_t SynthesisNetworkImpl::num_noise_maps() const { return noise_map_count(blocks_.back()->conv1->resolution()); }

int64_t SynthesisNetworkImpl::multiply_accumulates() const {
  int64_t macs = 0;
  for (const auto& block : blocks_) macs += block->multiply_accumulates();
  return macs;
}

}  // namespace loom

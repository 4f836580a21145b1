#include "export/stylegan2_onnx.h"

#include <cmath>

#include "core/text/cat.h"
#include "export/nn_onnx.h"
#include "export/onnx_ops.h"
#include "models/stylegan2/synthesis_network.h"

namespace loom::onnx {

std::string constant_noise(Graph& g, const std::string& y, NoiseMode noise, const at::Tensor& noise_const,
                           const at::Tensor& noise_strength, int64_t resolution) {
  if (noise == NoiseMode::random) unsupported("synthesis", "noise=random (the export bakes noise in: const or none)");
  if (noise == NoiseMode::none || noise_strength.item<float>() == 0.0f) return y;
  const at::Tensor map = layer_noise(at::Tensor(), noise, noise_const, noise_strength, at::Tensor(), resolution);
  return add(g, y, g.constant(map.reshape({1, 1, resolution, resolution}), "noise"));
}

std::string affine_styles(Graph& g, nn::EqualizedLinearImpl& affine, const std::string& w) {
  auto scope = g.scope("affine");
  return equalized_linear(g, affine, w);
}

namespace {

// SynthesisLayerImpl::forward: modulated 3x3 conv (2x up for conv0), noise, bias, lrelu × √2, clamp.
std::string synthesis_layer(Graph& g, SynthesisLayerImpl& layer, const std::string& x, const std::string& w,
                            NoiseMode noise) {
  const std::string styles = affine_styles(g, *layer.affine, w);
  std::string y = modulated_conv2d(g, x, layer.weight, styles, layer.up(), 1, layer.resample_filter, true);
  y = constant_noise(g, y, noise, layer.noise_const, layer.noise_strength, layer.resolution());
  return bias_act(g, y, 4, layer.bias, nn::BiasActivation::lrelu, std::sqrt(2.0), layer.conv_clamp());
}

// ToRgbLayerImpl::forward: 1x1 modulated conv without demodulation, bias, clamp.
std::string to_rgb(Graph& g, ToRgbLayerImpl& layer, const std::string& x, const std::string& w) {
  const std::string styles =
      mul(g, affine_styles(g, *layer.affine, w), g.scalar(static_cast<float>(layer.weight_gain())));
  const std::string y = modulated_conv2d(g, x, layer.weight, styles, 1, 0, at::Tensor(), false);
  return bias_act(g, y, 4, layer.bias, nn::BiasActivation::linear, 1.0, layer.conv_clamp());
}

}  // namespace

std::string stylegan2_synthesis(Graph& g, SynthesisNetworkImpl& synthesis, const std::string& ws, NoiseMode noise) {
  std::string x, img;
  int64_t w_index = 0;
  for (const SynthesisBlock& holder : synthesis.blocks()) {
    SynthesisBlockImpl& block = *holder.ptr();  // blocks() hands out const holders
    const int64_t r = block.conv1->resolution();
    auto scope = g.scope(cat("synthesis.b", r));
    if (block.conv0) {
      auto conv_scope = g.scope("conv0");
      x = synthesis_layer(g, *block.conv0, x, select(g, ws, 1, w_index++), noise);
    } else {
      // [1, C, 4, 4]: conv1's first op multiplies it by the styles [N, C, 1, 1], the forward's expand.
      x = g.constant(block.const_input.unsqueeze(0), "const");
    }
    {
      auto conv_scope = g.scope("conv1");
      x = synthesis_layer(g, *block.conv1, x, select(g, ws, 1, w_index++), noise);
    }
    std::string y;
    {
      auto rgb_scope = g.scope("torgb");
      y = to_rgb(g, *block.torgb, x, select(g, ws, 1, w_index));
    }
    img = img.empty() ? y : add(g, upsample2d(g, img, block.resample_filter, block.torgb->weight.size(0)), y);
  }
  return img;
}

}  // namespace loom::onnx

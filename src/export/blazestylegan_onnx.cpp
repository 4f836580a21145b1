#include "export/blazestylegan_onnx.h"

#include <cmath>

#include "core/text/cat.h"
#include "export/nn_onnx.h"
#include "export/onnx_ops.h"
#include "export/stylegan2_onnx.h"
#include "models/blazestylegan/student_layers.h"
#include "models/blazestylegan/up_to_rgb.h"

namespace loom::onnx {

namespace {

// StudentLayerImpl::forward with its noise baked in.
std::string student_layer(Graph& g, StudentLayerImpl& layer, const std::string& x, const std::string& w,
                          NoiseMode noise_mode) {
  const std::string styles = affine_styles(g, *layer.affine, w);
  std::string y;
  if (layer.kind() == StudentConv::full) {
    y = modulated_conv2d(g, x, layer.weight, styles, layer.up() ? 2 : 1, 1, layer.resample_filter, true);
  } else {
    // modulated_depthwise_conv2d: the input scaled by tanh(styles) · scale, a depthwise conv (transposed
    // with the FIR filter when upsampling, padded as there), the pointwise conv, the baked demodulation.
    const int64_t in = layer.weight_dw.size(0);
    const std::string s =
        mul(g, g.node("Tanh", {styles}), g.scalar(static_cast<float>(depthwise_style_scale(layer.weight_dw))));
    y = mul(g, x, unsqueeze(g, s, {2, 3}));
    if (layer.up()) {
      y = conv_transpose(g, y, layer.weight_dw, 2, in);
      y = fir_filter(g, y, layer.resample_filter, in, {1, 1, 1, 1}, 4.0);
    } else {
      y = conv(g, y, layer.weight_dw, at::Tensor(), {.pads = {1, 1, 1, 1}, .group = in});
    }
    y = conv(g, y, layer.weight_permute, at::Tensor());
    const at::Tensor demodulation = depthwise_demodulation(layer.weight_dw, layer.weight_permute);
    y = mul(g, y, g.constant(demodulation.reshape({1, -1, 1, 1}), "demodulation"));
  }
  y = constant_noise(g, y, noise_mode, layer.noise_const, layer.noise_strength, layer.resolution());
  return bias_act(g, y, 4, layer.bias, nn::BiasActivation::lrelu, std::sqrt(2.0), layer.conv_clamp());
}

// UpToRgbImpl::forward: a 1x1 modulated conv without demodulation, bias, clamp, then the head's ×2.
std::string up_to_rgb(Graph& g, UpToRgbImpl& head, const std::string& x, const std::string& w, int64_t side) {
  const std::string styles =
      mul(g, affine_styles(g, *head.affine, w), g.scalar(static_cast<float>(head.weight_gain())));
  std::string y = modulated_conv2d(g, x, head.weight, styles, 1, 0, at::Tensor(), false);
  y = bias_act(g, y, 4, head.bias, nn::BiasActivation::linear, 1.0, head.conv_clamp());
  if (head.upsample() == FinalUpsample::haar) return haar_idwt(g, y, head.weight.size(0), side, side);
  if (head.upsample() == FinalUpsample::pixel_shuffle) return depth_to_space(g, y, "CRD");
  return y;
}

// BlazeLevelImpl::forward; x is the previous level's features with `in_channels` channels (b4: none).
std::string level(Graph& g, BlazeLevelImpl& level, const std::string& x_in, int64_t in_channels, const std::string& ws,
                  NoiseMode noise) {
  const int64_t r = level.resolution();
  std::string x;
  if (!level.conv0) {
    // [1, C, 4, 4]: the first op of conv1 multiplies it by the styles [N, C, 1, 1], which broadcasts it
    // to the batch as the forward's expand does.
    x = g.constant(level.const_input.unsqueeze(0), "const");
  } else {
    x = x_in;
    if (level.upsample() == LevelUpsample::haar) x = haar_idwt(g, x, in_channels, r / 2, r / 2);
    if (level.upsample() == LevelUpsample::bilinear) x = resize_bilinear(g, x, r, r, false);
    auto scope = g.scope("conv0");
    x = student_layer(g, *level.conv0, x, select(g, ws, 1, level.w_conv0()), noise);
  }
  auto scope = g.scope("conv1");
  return student_layer(g, *level.conv1, x, select(g, ws, 1, level.w_conv1()), noise);
}

}  // namespace

std::string blaze_synthesis(Graph& g, BlazeSynthesisImpl& synthesis, const std::string& ws, NoiseMode noise) {
  const auto& levels = synthesis.levels();
  std::string x;
  int64_t channels = 0;
  for (const BlazeLevel& l : levels) {
    auto scope = g.scope(cat("synthesis.b", l->resolution()));
    x = level(g, *l.ptr(), x, channels, ws, noise);  // ptr(): levels() hands out const holders
    channels = l->conv1->bias.size(0);
  }
  BlazeLevelImpl& last = *levels.back().ptr();
  auto scope = g.scope(cat("synthesis.b", last.resolution(), ".up_to_rgb"));
  return up_to_rgb(g, *last.up_to_rgb, x, select(g, ws, 1, last.w_head()), last.resolution());
}

}  // namespace loom::onnx

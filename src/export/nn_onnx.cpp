#include "export/nn_onnx.h"

#include <cmath>
#include <vector>

#include <ATen/ops/eye.h>

#include "core/text/cat.h"
#include "export/onnx_ops.h"
#include "nn/conv2d_resample.h"
#include "nn/haar_wavelet.h"

namespace loom::onnx {

std::string equalized_linear(Graph& g, nn::EqualizedLinearImpl& layer, const std::string& x) {
  // The forward's run-time scaling of the stored parameters, done once here.
  const at::Tensor w = layer.weight * layer.weight_gain();
  const at::Tensor b = layer.bias.defined() ? layer.bias * layer.options().lr_multiplier : at::Tensor();
  const nn::BiasActivation activation = layer.options().activation;
  if (activation == nn::BiasActivation::linear) return gemm(g, x, w, b);
  return bias_act(g, gemm(g, x, w, at::Tensor()), 2, b, activation, nn::default_gain(activation));
}

std::string bias_act(Graph& g, const std::string& x, int64_t rank, const at::Tensor& bias,
                     nn::BiasActivation activation, double gain, std::optional<double> clamp) {
  std::string y = x;
  if (bias.defined()) {
    std::vector<int64_t> shape(static_cast<size_t>(rank), 1);
    shape[1] = bias.numel();
    y = add(g, y, g.constant(bias.reshape(shape), "bias"));
  }
  if (activation == nn::BiasActivation::lrelu) y = leaky_relu(g, y, 0.2f);
  if (gain != 1.0) y = mul(g, y, g.scalar(static_cast<float>(gain)));
  if (clamp && *clamp >= 0) y = clip(g, y, static_cast<float>(-*clamp), static_cast<float>(*clamp));
  return y;
}

std::string fir_filter(Graph& g, const std::string& x, const at::Tensor& f, int64_t channels, nn::FirPadding pad,
                       double gain) {
  if (pad.x0 < 0 || pad.x1 < 0 || pad.y0 < 0 || pad.y1 < 0)
    unsupported("upfirdn2d", cat("cropping (negative padding ", pad.x0, ", ", pad.x1, ", ", pad.y0, ", ", pad.y1, ")"));
  // upfirdn2d convolves (flipped filter); Conv correlates.
  const at::Tensor weight = (f.flip({0, 1}) * gain).view({1, 1, f.size(0), f.size(1)}).expand({channels, 1, -1, -1});
  return conv(g, x, weight, at::Tensor(), {.pads = {pad.y0, pad.x0, pad.y1, pad.x1}, .group = channels});
}

std::string upsample2d(Graph& g, const std::string& x, const at::Tensor& f, int64_t channels) {
  constexpr int64_t up = 2;
  const int64_t fh = f.size(0), fw = f.size(1);
  // upsample2d's pads (x0 = (fw + up − 1) / 2, x1 = (fw − up) / 2, likewise y) as crops of the
  // transposed conv's full output, whose window starts f − 1 samples before the padded one.
  const int64_t top = fh - 1 - (fh + up - 1) / 2, left = fw - 1 - (fw + up - 1) / 2;
  const int64_t bottom = fh - up - (fh - up) / 2, right = fw - up - (fw - up) / 2;
  if (top < 0 || left < 0 || bottom < 0 || right < 0)
    unsupported("upsample2d", cat("a ", fh, "x", fw, " filter (padding beyond the transposed conv's output)"));
  const at::Tensor weight = (f * double{up * up}).view({1, 1, fh, fw}).expand({channels, 1, fh, fw});
  return conv_transpose(g, x, weight, up, channels, {top, left, bottom, right});
}

std::string conv2d_resample(Graph& g, const std::string& x, const at::Tensor& w, const at::Tensor& f, int64_t up,
                            int64_t down, int64_t padding) {
  if (down != 1) unsupported("conv2d_resample", cat("down=", down));
  if (up == 1) return conv(g, x, w, at::Tensor(), {.pads = {padding, padding, padding, padding}});
  if (up != 2 || w.size(-1) == 1)
    unsupported("conv2d_resample", cat("up=", up, " with a ", w.size(-1), "x", w.size(-1), " kernel"));
  const std::string y = conv_transpose(g, x, w.transpose(0, 1), up, 1);
  return fir_filter(g, y, f, w.size(0), nn::conv2d_resample_up_padding(w.size(-1), f.size(-1), up, padding),
                    static_cast<double>(up * up));
}

std::string modulated_conv2d(Graph& g, const std::string& x, const at::Tensor& weight_in, const std::string& styles_in,
                             int64_t up, int64_t padding, const at::Tensor& resample_filter, bool demodulate) {
  at::Tensor weight = weight_in;
  std::string styles = styles_in;
  if (g.float16() && demodulate) {
    // nn::modulated_conv2d's float16 path (NVlabs'): weight and styles rescaled so that Σ s²·w² stays in
    // range; demodulation cancels the scales.
    const double fan_in = static_cast<double>(weight.size(1) * weight.size(2) * weight.size(3));
    weight = weight * (1.0 / std::sqrt(fan_in) / weight.abs().amax({1, 2, 3}, true));
    const std::string peak =
        g.node("ReduceMax", {g.node("Abs", {styles})}, {{"axes", std::vector<int64_t>{1}}, {"keepdims", int64_t{1}}});
    styles = g.node("Div", {styles, peak});
  }
  std::string y = mul(g, x, unsqueeze(g, styles, {2, 3}));
  y = conv2d_resample(g, y, weight, resample_filter, up, 1, padding);
  if (!demodulate) return y;
  // Σ_{i,k} (w[o,i,k]·s[n,i])² = Σ_i s[n,i]² · Σ_k w[o,i,k]²: one MatMul per sample.
  const std::string energy =
      g.node("MatMul", {mul(g, styles, styles), g.constant(weight.square().sum({2, 3}).t(), "weight_energy")});
  const std::string dcoefs = rsqrt(g, add(g, energy, g.scalar(1e-8f)));
  return mul(g, y, unsqueeze(g, dcoefs, {2, 3}));
}

std::string haar_idwt(Graph& g, const std::string& x, int64_t channels, int64_t h, int64_t w) {
  if (channels % 4 != 0) unsupported("haar_idwt", cat(channels, " channels (not 4C)"));
  const int64_t c = channels / 4;
  // The band mixing read off the forward itself: band k alone gives each pixel (dy, dx) of a 2x2 block
  // its weight; the Conv's output p = 2·dy + dx is DepthToSpace's DCR block order.
  const at::Tensor blocks = nn::haar_idwt(at::eye(4).view({4, 4, 1, 1}));  // [band, 1, dy, dx]
  const at::Tensor mixing = blocks.reshape({4, 4}).t().contiguous().view({4, 4, 1, 1});
  std::string y = reshape(g, x, {-1, 4, c * h, w});
  y = conv(g, y, mixing, at::Tensor());
  return depth_to_space(g, reshape(g, y, {-1, channels, h, w}), "DCR");
}

}  // namespace loom::onnx

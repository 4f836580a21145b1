#pragma once
// ONNX exports of the shared layers in src/nn/, each mirroring the function it is named after, op for
// op, so the exported graph computes what Loom's forward does (tests/export/ compares them in
// onnxruntime). Tensors computed from weights alone are baked in as constants by the same ATen code
// the forward runs; anything that depends on the input stays in the graph.
#include <cstdint>
#include <optional>
#include <string>

#include <ATen/core/Tensor.h>

#include "export/onnx_graph.h"
#include "nn/bias_act.h"
#include "nn/equalized_linear.h"
#include "nn/upfirdn2d.h"

namespace loom::onnx {

// nn::EqualizedLinear: x [N, in] -> [N, out], its activation and gain included.
std::string equalized_linear(Graph& g, nn::EqualizedLinearImpl& layer, const std::string& x);

// nn::bias_act on a rank-`rank` x with the bias over dim 1 (undefined: none).
std::string bias_act(Graph& g, const std::string& x, int64_t rank, const at::Tensor& bias,
                     nn::BiasActivation activation, double gain, std::optional<double> clamp = std::nullopt);

// nn::upfirdn2d with up = down = 1 and non-negative pads, on `channels` channels: a depthwise Conv.
std::string fir_filter(Graph& g, const std::string& x, const at::Tensor& f, int64_t channels, nn::FirPadding pad,
                       double gain);

// nn::upsample2d (2x, NVlabs' padding) on `channels` channels: the depthwise transposed conv upfirdn2d
// runs, its pads cropping the full output to the 2H x 2W window.
std::string upsample2d(Graph& g, const std::string& x, const at::Tensor& f, int64_t channels);

// nn::conv2d_resample for up 1 or 2 (down 2 is unsupported): Conv, or ConvTranspose and the FIR filter.
std::string conv2d_resample(Graph& g, const std::string& x, const at::Tensor& w, const at::Tensor& f, int64_t up,
                            int64_t down, int64_t padding);

// nn::modulated_conv2d in its activation-side form: the styles [N, I] (a value) scale the input, the
// shared weight convolves, and with `demodulate` each sample's output channels are scaled by
// rsqrt(s² · Σ_k w² + 1e-8), computed in the graph from a constant [I, O] table; a float16 graph first
// rescales weight and styles as nn::modulated_conv2d does in float16. Callers add the noise.
std::string modulated_conv2d(Graph& g, const std::string& x, const at::Tensor& weight, const std::string& styles,
                             int64_t up, int64_t padding, const at::Tensor& resample_filter, bool demodulate);

// nn::haar_idwt: x [N, 4C, h, w] (band-major) -> [N, C, 2h, 2w] as a fixed 1x1 Conv mixing the four
// bands of each channel and pixel (on x viewed as [N, 4, C·h, w]), then DepthToSpace (DCR).
std::string haar_idwt(Graph& g, const std::string& x, int64_t channels, int64_t h, int64_t w);

}  // namespace loom::onnx

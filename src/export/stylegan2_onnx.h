#pragma once
// ONNX export of the StyleGAN2 teacher's synthesis network (models/stylegan2/synthesis_network.h),
// mirroring SynthesisLayerImpl, ToRgbLayerImpl, SynthesisBlockImpl and SynthesisNetworkImpl::forward in
// float32 (NVlabs' float16 blocks run in float32 off CUDA, as Loom's CPU forward does):
//   - modulated convs in activation-side form, demodulated per sample in the graph (export/nn_onnx.h);
//   - the skip images FIR-upsampled by a depthwise transposed conv;
//   - noise baked in: NoiseMode::constant adds each layer's noise_const × noise_strength, none nothing.
// constant_noise and affine_styles serve both families' layers (the student's follow the teacher's).
#include <optional>
#include <string>

#include <ATen/core/Tensor.h>

#include "export/onnx_graph.h"
#include "models/stylegan2/synthesis_layer.h"
#include "nn/equalized_linear.h"

namespace loom {
class SynthesisNetworkImpl;
}

namespace loom::onnx {

// y + noise_const × noise_strength for NoiseMode::constant (nothing when the strength is zero: it would
// add exact zeros), y for none; random noise has no export.
std::string constant_noise(Graph& g, const std::string& y, NoiseMode noise, const at::Tensor& noise_const,
                           const at::Tensor& noise_strength, int64_t resolution);

// A layer's styles: its `affine` (an nn::EqualizedLinear) applied to w, in the scope "affine".
std::string affine_styles(Graph& g, nn::EqualizedLinearImpl& affine, const std::string& w);

// ws: a value [N, num_ws, w_dim]. Returns the image [N, img_channels, R, R] in [-1, 1].
std::string stylegan2_synthesis(Graph& g, SynthesisNetworkImpl& synthesis, const std::string& ws, NoiseMode noise);

}  // namespace loom::onnx

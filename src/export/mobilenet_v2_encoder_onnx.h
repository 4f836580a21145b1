#pragma once
// ONNX export of the GAN-inversion encoder (models/encoder/), mirroring MobileNetV2EncoderImpl::forward at
// inference: the input normalisation, the truncated MobileNetV2 (BatchNorm with its running
// statistics, inverted residuals with their skips), pSp's FPN (bilinear, align_corners) and the
// GradualStyleBlocks, stacked into W+ residual codes; in progressive (e4e) mode every delta is active,
// as the forward's stage -1.
#include <string>

#include "export/onnx_graph.h"
#include "models/encoder/mobilenet_v2_encoder.h"

namespace loom::onnx {

// images: a value [N, 3, R, R] in [-1, 1]. Returns the codes [N, num_ws, w_dim] (add w_avg for W+).
std::string mobilenet_v2_encoder(Graph& g, MobileNetV2Encoder& encoder, const std::string& images);

}  // namespace loom::onnx

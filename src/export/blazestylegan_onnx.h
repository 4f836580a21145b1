#pragma once
// ONNX export of the BlazeStyleGAN student's synthesis (models/blazestylegan/), mirroring
// StudentLayerImpl, UpToRgbImpl, BlazeLevelImpl and BlazeSynthesisImpl::forward at inference (the last
// head only):
//   - modulated convs in activation-side form: the depthwise kind scales the input by its styles and
//     runs two shared convs with its weight-only demodulation baked in; the full kind demodulates per
//     sample in the graph (export/nn_onnx.h);
//   - the Haar heads and Haar upsampling as a 1x1 Conv + DepthToSpace, pixel_shuffle as DepthToSpace;
//   - noise baked in: NoiseMode::constant adds each layer's noise_const × noise_strength as a constant,
//     none adds nothing; random noise has no export.
#include <string>

#include "export/onnx_graph.h"
#include "models/blazestylegan/blaze_synthesis.h"
#include "models/stylegan2/synthesis_layer.h"

namespace loom::onnx {

// ws: a value [N, num_ws, w_dim] (the synthesis' num_ws). Returns the image [N, img_channels, R, R] in
// the generator's range ([-1, 1]).
std::string blaze_synthesis(Graph& g, BlazeSynthesisImpl& synthesis, const std::string& ws, NoiseMode noise);

}  // namespace loom::onnx

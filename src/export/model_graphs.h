#pragma once
// The exported graphs of `loom export`, with their inputs, outputs and metadata (metadata_props
// "loom.*"), assembled from the modules' exports:
//   generator  "ws" [batch, num_ws, w_dim] (W+) -> "image" [batch, C, R, R] in [-1, 1], the synthesis
//              of a BlazeStyleGAN student (last head) or a StyleGAN2 teacher at inference, noise baked
//              in; or from "z" [batch, z_dim] through the generator's mapping network with truncation
//              ψ (cutoff: the first ws only);
//   stylizer   "image" [batch, 3, R, R] in [0, 1] (an aligned face crop) -> "stylized" in [0, 1]:
//              image·2 − 1 -> encoder -> + w_avg -> student -> (y + 1) / 2 clipped to [0, 1], what
//              `loom stylize` computes for each crop;
//   clip_image "image" [batch, 3, S, S] in [0, 1] (resized and cropped as loom.preprocess says, not yet
//              normalised) -> the model's mean/std -> image tower -> "embedding" [batch, embed_dim],
//              L2-normalised when asked: encode_image of what `loom embed` feeds it;
//   clip_text  "tokens" [batch, context_length] int64 (the tokenizer's ids) -> "embedding", as
//              encode_text.
// The CLIP graphs take either image-text layout, Clip (open_clip's CLIP) or SigLip (timm image tower),
// with the same inputs, outputs and loom.* metadata.
// batch is the symbolic dimension "batch" (dynamic_batch) or 1.
#include <cstdint>

#include <ATen/core/Tensor.h>

#include "export/onnx_graph.h"
#include "export/onnx_writer.h"
#include "models/stylegan2/synthesis_layer.h"

namespace loom {
class BlazeSynthesisImpl;
class ImageTextModel;
class MappingNetworkImpl;
class MobileNetV2Encoder;
class SynthesisNetworkImpl;
}  // namespace loom

namespace loom::onnx {

struct GraphOptions {
  bool dynamic_batch = true;
  NoiseMode noise = NoiseMode::constant;  // constant or none
  // Build for float16 (Graph::float16); the caller converts the graph with Graph::convert_to_float16.
  bool float16 = false;
};

struct ExportedGraph {
  Graph graph;
  ModelInfo info;
};

struct Truncation {
  double psi = 1.0;
  int64_t cutoff = -1;  // < 0: every w
};

// With a `mapping` network the input is "z" through it, truncated; else "ws".
ExportedGraph generator_graph(BlazeSynthesisImpl& synthesis, const GraphOptions& options,
                              MappingNetworkImpl* mapping = nullptr, Truncation truncation = {});
ExportedGraph generator_graph(SynthesisNetworkImpl& synthesis, const GraphOptions& options,
                              MappingNetworkImpl* mapping = nullptr, Truncation truncation = {});

// w_avg [w_dim]: the generator's mean w (the encoder predicts residuals around it). UserError when the
// encoder does not fit the student (resolution, num_ws, w_dim) or the student is not RGB.
ExportedGraph stylizer_graph(MobileNetV2Encoder& encoder, BlazeSynthesisImpl& synthesis, const at::Tensor& w_avg,
                             const GraphOptions& options);

// Whether the CLIP graphs export `model`: a Clip or a SigLip.
bool exports_image_text(const ImageTextModel& model);

// The towers of a Clip or SigLip (L2-normalised output unless `normalize` is false); another
// ImageTextModel is unsupported.
ExportedGraph clip_image_graph(ImageTextModel& model, const GraphOptions& options, bool normalize = true);
ExportedGraph clip_text_graph(ImageTextModel& model, const GraphOptions& options, bool normalize = true);

}  // namespace loom::onnx

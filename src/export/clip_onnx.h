#pragma once
// ONNX exports of the CLIP towers (models/clip/vision_transformer.h, text_transformer.h), each mirroring
// its forward op for op with the scopes of open_clip's parameter names (visual.*, token_embedding,
// transformer, ln_final, text_projection). Both return the unnormalised features; model_graphs.h adds
// the preprocessing and the L2 normalisation of Clip::encode_image / encode_text.
#include <string>

#include "export/onnx_graph.h"
#include "models/clip/text_transformer.h"
#include "models/clip/vision_transformer.h"

namespace loom::onnx {

// images [B, 3, image_size, image_size] (preprocessed) -> [B, output_dim]: VisionTransformerImpl::forward
// in eval mode (cropped positional embeddings as at evaluation, baked in), the batch read from the input.
std::string vision_transformer(Graph& g, VisionTransformerImpl& visual, const std::string& images);

// tokens [B, context_length] int64 -> [B, output_dim]: TextTransformerImpl::forward, the pooled position
// of each row computed in the graph from its ids.
std::string text_transformer(Graph& g, TextTransformerImpl& text, const std::string& tokens);

}  // namespace loom::onnx

#pragma once
// ONNX export of open_clip's timm image tower (models/clip/timm_vision_transformer.h, SigLIP's), mirroring
// TimmVisionTowerImpl::forward op for op under the scopes of its parameter names (visual.trunk.*,
// visual.head.proj). Returns the unnormalised features; model_graphs.h adds the preprocessing and the L2
// normalisation of SigLip::encode_image.
#include <string>

#include "export/onnx_graph.h"
#include "models/clip/timm_vision_transformer.h"

namespace loom::onnx {

// images [B, 3, image_size, image_size] (preprocessed) -> [B, output_dim]: patch conv, class token, pos_embed,
// the blocks, norm, pooling (map, avg with fc_norm, or token) and the optional linear head.
std::string timm_vision_tower(Graph& g, TimmVisionTowerImpl& visual, const std::string& images);

}  // namespace loom::onnx

#pragma once
// The registered model `mobilenet_v2_encoder`: MediaPipe's face-stylizer encoder shape (a MobileNetV2
// backbone, W+ as a residual around the generator's w_avg) with pSp's FPN style head; `backbone`
// (mobilenet_v2.h) and `head` (style_head.h). The [-1, 1] images are mapped to torchvision's ImageNet
// normalisation first, so a backbone loaded from torchvision sees the inputs it was trained on.
//
// Modes: pSp (progressive false) — row i is style block i's output. e4e (progressive true) — row 0's
// output w0 is broadcast to every row and rows 1 .. stage add their block's delta; stage -1 = all
// num_ws - 1 deltas (inference), 0 = w0 alone; the blocks past `stage` are not run.
//
// Counting (`loom info`): parameters are every trainable tensor (BatchNorm's affine included, running
// statistics not); mult-adds are of one image, convs at their output resolution (depthwise: k·k per
// output element) and the equalized linears, BatchNorm, activations, upsampling and additions not.
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

#include "models/encoder/mobilenet_v2.h"
#include "models/encoder/mobilenet_v2_encoder_options.h"
#include "models/encoder/style_head.h"
#include "models/model.h"

namespace loom {

class MobileNetV2Encoder : public Model {
 public:
  // Loads options.backbone_weights when given (load_torchvision_backbone).
  explicit MobileNetV2Encoder(const MobileNetV2EncoderOptions& options);

  // images [N, 3, resolution, resolution] in [-1, 1] -> residual codes [N, num_ws, w_dim] (add w_avg).
  // `stage`: active deltas in progressive mode (clamped to num_ws - 1; -1 = all), ignored otherwise.
  at::Tensor forward(const at::Tensor& images, int64_t stage = -1);

  // A torchvision mobilenet_v2 state dict (torch.save zip or safetensors) into the backbone: every kept
  // tensor by name and shape or UserError; later features and the classifier skipped. Returns the count.
  size_t load_torchvision_backbone(const std::filesystem::path& path);
  bool pretrained_backbone() const { return !backbone_source_.empty(); }

  const MobileNetV2EncoderOptions& options() const { return options_; }
  const std::vector<int64_t>& taps() const { return taps_; }  // backbone stages of c1, c2, c3
  // [1, 3, 1, 1]: images · scale + shift is torchvision's normalisation of (images + 1) / 2.
  const at::Tensor& input_scale() const { return input_scale_; }
  const at::Tensor& input_shift() const { return input_shift_; }
  // "backbone.features", then "head.latlayer1", "head.latlayer2", "head.coarse", "head.middle", "head.fine".
  std::vector<std::pair<std::string, int64_t>> multiply_accumulates() const override;
  int info_depth() const override { return 2; }
  std::vector<std::string> info_notes() const override;

  MobileNetV2 backbone{nullptr};
  StyleHead head{nullptr};

 private:
  MobileNetV2EncoderOptions options_;
  std::vector<int64_t> taps_;  // backbone stages of c1, c2, c3
  std::string backbone_source_;
  at::Tensor input_scale_, input_shift_;  // [1, 3, 1, 1]: [-1, 1] -> ImageNet normalisation, on the last input's device
};

void register_encoder_models();

}  // namespace loom

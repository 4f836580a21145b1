#include "models/encoder/mobilenet_v2_encoder.h"

#include <algorithm>

#include <ATen/ops/stack.h>
#include <ATen/ops/tensor.h>

#include "core/error.h"
#include "core/registry/registries.h"
#include "core/text/cat.h"
#include "core/text/with_commas.h"

namespace loom {

namespace {

// torchvision's ImageNet statistics, for inputs in [0, 1].
constexpr double kMean[] = {0.485, 0.456, 0.406};
constexpr double kStd[] = {0.229, 0.224, 0.225};

int64_t parameter_count(const torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

}  // namespace

MobileNetV2Encoder::MobileNetV2Encoder(const MobileNetV2EncoderOptions& options)
    : options_(options), taps_{options.tap_stages[0], options.tap_stages[1], options.stages} {
  backbone = register_module("backbone", MobileNetV2(options.width_mult, options.stages));
  std::vector<TapShape> shapes;
  for (int64_t stage : taps_)
    shapes.push_back({backbone->stage_channels(stage), backbone->stage_side(stage, options.resolution)});
  head = register_module("head", StyleHead(shapes, options.level_ws(), options.head_channels, options.w_dim));
  if (!options.backbone_weights.empty()) load_torchvision_backbone(options.backbone_weights);
  // x in [-1, 1]: ((x + 1) / 2 - mean) / std = x · 0.5 / std + (0.5 - mean) / std.
  std::vector<float> scale, shift;
  for (int c = 0; c < 3; ++c) {
    scale.push_back(static_cast<float>(0.5 / kStd[c]));
    shift.push_back(static_cast<float>((0.5 - kMean[c]) / kStd[c]));
  }
  input_scale_ = at::tensor(scale).view({1, 3, 1, 1});
  input_shift_ = at::tensor(shift).view({1, 3, 1, 1});
}

at::Tensor MobileNetV2Encoder::forward(const at::Tensor& images, int64_t stage) {
  const int64_t r = options_.resolution;
  if (images.dim() != 4 || images.size(1) != 3 || images.size(2) != r || images.size(3) != r)
    throw UserError(
        cat("mobilenet_v2_encoder: images must be [N, 3, ", r, ", ", r, "] (model.resolution), got ", images.sizes()));
  if (input_scale_.device() != images.device() || input_scale_.scalar_type() != images.scalar_type()) {
    input_scale_ = input_scale_.to(images.device(), images.scalar_type());  // once per device, not per step
    input_shift_ = input_shift_.to(images.device(), images.scalar_type());
  }
  const std::vector<at::Tensor> taps = backbone->forward(images * input_scale_ + input_shift_, taps_);
  const int64_t num_ws = options_.num_ws;
  if (!options_.progressive) return at::stack(head->forward(taps[0], taps[1], taps[2], num_ws), 1);

  const int64_t deltas = stage < 0 ? num_ws - 1 : std::min(stage, num_ws - 1);
  const std::vector<at::Tensor> styles = head->forward(taps[0], taps[1], taps[2], 1 + deltas);
  std::vector<at::Tensor> rows(num_ws, styles[0]);
  for (int64_t i = 1; i <= deltas; ++i) rows[i] = styles[0] + styles[i];
  return at::stack(rows, 1);
}

size_t MobileNetV2Encoder::load_torchvision_backbone(const std::filesystem::path& path) {
  const weights::LoadReport report = backbone->load_torchvision(weights::read(path.string()), path.string());
  backbone_source_ = path.string();
  return report.loaded;
}

std::vector<std::pair<std::string, int64_t>> MobileNetV2Encoder::multiply_accumulates() const {
  std::vector<std::pair<std::string, int64_t>> macs{
      {"backbone.features", backbone->multiply_accumulates(options_.resolution)}};
  for (const auto& [name, m] : head->multiply_accumulates()) macs.emplace_back("head." + name, m);
  return macs;
}

std::vector<std::string> MobileNetV2Encoder::info_notes() const {
  int64_t macs = 0;
  for (const auto& [name, m] : multiply_accumulates()) macs += m;
  const auto side = [&](int64_t stage) { return backbone->stage_side(stage, options_.resolution); };
  const auto level_ws = options_.level_ws();
  return {cat("encoder: ", with_commas(parameter_count(*this)), " trainable parameters, ", with_commas(macs),
              " mult-adds per ", options_.resolution, "x", options_.resolution,
              " image (convs at output resolution, linears counted; BatchNorm, activations, upsampling not)"),
          cat("taps c1/c2/c3: stages ", taps_[0], "/", taps_[1], "/", taps_[2], " at ", side(taps_[0]), "/",
              side(taps_[1]), "/", side(taps_[2]), " px; styles ", level_ws[0], " from c3, ", level_ws[1], " from p2, ",
              level_ws[2], " from p1; ", options_.num_ws, " ws of ", options_.w_dim,
              options_.progressive ? " (progressive: w0 + deltas)" : ""),
          pretrained_backbone()
              ? cat("backbone: torchvision weights from ", backbone_source_)
              : "backbone: runs without pretrained weights (random init; model.backbone_weights names "
                "torchvision's mobilenet_v2 state dict)"};
}

void register_encoder_models() {
  model_registry().add(
      "mobilenet_v2_encoder",
      [](const ConfigNode& section, const std::string& path) {
        auto options = read_config<MobileNetV2EncoderOptions>(section, path);
        validate(options, section, path);
        return std::make_shared<MobileNetV2Encoder>(options);
      },
      "GAN-inversion encoder: truncated MobileNetV2 + pSp FPN style head, W+ residual around w_avg (pSp / e4e)");
}

}  // namespace loom

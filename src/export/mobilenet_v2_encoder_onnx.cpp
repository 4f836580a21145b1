#include "export/mobilenet_v2_encoder_onnx.h"

#include <vector>

#include <torch/nn/modules/container/sequential.h>

#include "core/text/cat.h"
#include "export/nn_onnx.h"
#include "export/onnx_ops.h"
#include "export/torch_nn_onnx.h"
#include "models/encoder/mobilenet_v2.h"
#include "models/encoder/style_head.h"

namespace loom::onnx {

namespace {

// MobileNetV2Impl::forward: the outputs of the tap stages, running no further than the last.
std::vector<std::string> backbone(Graph& g, MobileNetV2Impl& net, const std::string& x,
                                  const std::vector<int64_t>& taps) {
  auto scope = g.scope("backbone.features");
  std::vector<std::string> out;
  std::string h = x;
  for (size_t i = 0; out.size() < taps.size(); ++i) {
    const std::string path = cat("backbone.features.", i);
    auto layer_scope = g.scope(cat(i));
    torch::nn::Module& layer = *net.features->ptr(i);
    const auto children = layer.named_children();
    if (layer.as<torch::nn::Sequential>()) {  // the stem's Conv2dNormActivation
      h = torch_sequential(g, layer, h, path);
    } else if (const auto* body = children.find("conv")) {  // an inverted residual
      auto body_scope = g.scope("conv");
      const std::string y = torch_sequential(g, **body, h, path + ".conv");
      h = net.residual(i) ? add(g, h, y) : y;
    } else {
      unsupported(path, layer.name());
    }
    if (i == net.stage_end(taps[out.size()])) out.push_back(h);
  }
  return out;
}

// GradualStyleBlockImpl::forward: the stride-2 convs down to 1x1, flattened, the equalized linear.
std::string gradual_style_block(Graph& g, GradualStyleBlockImpl& block, const std::string& x, const std::string& path) {
  std::string y;
  {
    auto scope = g.scope("convs");
    y = torch_sequential(g, *block.convs, x, path + ".convs");
  }
  y = g.node("Flatten", {y}, {{"axis", int64_t{1}}});
  auto scope = g.scope("linear");
  return equalized_linear(g, *block.linear, y);
}

// pSp's _upsample_add: features resized to the lateral's side (align_corners) plus the lateral conv.
std::string upsample_add(Graph& g, const std::string& features, torch::nn::Module& lateral_conv,
                         const std::string& lateral_input, int64_t side, const std::string& name) {
  auto scope = g.scope(name);
  const std::string lateral = torch_module(g, lateral_conv, lateral_input, "head." + name);
  return add(g, resize_bilinear(g, features, side, side, true), lateral);
}

}  // namespace

std::string mobilenet_v2_encoder(Graph& g, MobileNetV2Encoder& encoder, const std::string& images) {
  const auto& options = encoder.options();
  std::string x;
  {
    auto scope = g.scope("normalize");
    x = add(g, mul(g, images, g.constant(encoder.input_scale(), "scale")), g.constant(encoder.input_shift(), "shift"));
  }
  const std::vector<int64_t>& taps = encoder.taps();
  const std::vector<std::string> c = backbone(g, *encoder.backbone, x, taps);
  auto side = [&](size_t tap) { return encoder.backbone->stage_side(taps[tap], options.resolution); };

  // StyleHeadImpl::forward for every row (progressive mode at stage -1 reads them all too).
  StyleHeadImpl& head = *encoder.head;
  const std::vector<int64_t>& level_ws = head.level_ws();
  std::vector<std::string> rows;
  std::string features = c[2];
  for (int64_t i = 0; i < options.num_ws; ++i) {
    if (i == level_ws[0]) features = upsample_add(g, features, *head.latlayer1, c[1], side(1), "latlayer1");
    if (i == level_ws[0] + level_ws[1])
      features = upsample_add(g, features, *head.latlayer2, c[0], side(0), "latlayer2");
    const char* level = i < level_ws[0] ? "coarse" : i < level_ws[0] + level_ws[1] ? "middle" : "fine";
    const int64_t first = i < level_ws[0] ? 0 : i < level_ws[0] + level_ws[1] ? level_ws[0] : level_ws[0] + level_ws[1];
    const std::string path = cat("head.", level, ".", i - first);
    auto scope = g.scope(path);
    rows.push_back(gradual_style_block(g, *head.blocks()[static_cast<size_t>(i)].ptr(), features, path));
  }
  auto scope = g.scope("codes");
  if (options.progressive)  // e4e: w0 in every row, plus row i's delta
    for (size_t i = 1; i < rows.size(); ++i) rows[i] = add(g, rows[0], rows[i]);
  for (auto& row : rows) row = unsqueeze(g, row, {1});
  return concat(g, rows, 1);
}

}  // namespace loom::onnx

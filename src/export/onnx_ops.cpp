#include "export/onnx_ops.h"

namespace loom::onnx {

std::string conv(Graph& g, const std::string& x, const at::Tensor& weight, const at::Tensor& bias,
                 const ConvSpec& spec) {
  std::vector<std::string> inputs{x, g.constant(weight, "weight")};
  if (bias.defined()) inputs.push_back(g.constant(bias, "bias"));
  return g.node("Conv", inputs,
                {{"dilations", spec.dilations},
                 {"group", spec.group},
                 {"kernel_shape", std::vector<int64_t>{weight.size(2), weight.size(3)}},
                 {"pads", spec.pads},
                 {"strides", spec.strides}});
}

std::string conv_transpose(Graph& g, const std::string& x, const at::Tensor& weight, int64_t stride, int64_t group,
                           const std::vector<int64_t>& pads) {
  return g.node("ConvTranspose", {x, g.constant(weight, "weight")},
                {{"group", group},
                 {"kernel_shape", std::vector<int64_t>{weight.size(2), weight.size(3)}},
                 {"pads", pads},
                 {"strides", std::vector<int64_t>{stride, stride}}});
}

std::string gemm(Graph& g, const std::string& x, const at::Tensor& weight, const at::Tensor& bias) {
  std::vector<std::string> inputs{x, g.constant(weight, "weight")};
  if (bias.defined()) inputs.push_back(g.constant(bias, "bias"));
  return g.node("Gemm", inputs, {{"transB", int64_t{1}}});
}

std::string add(Graph& g, const std::string& a, const std::string& b) { return g.node("Add", {a, b}); }
std::string mul(Graph& g, const std::string& a, const std::string& b) { return g.node("Mul", {a, b}); }

std::string unsqueeze(Graph& g, const std::string& x, const std::vector<int64_t>& axes) {
  return g.node("Unsqueeze", {x, g.ints(axes)});
}

std::string reshape(Graph& g, const std::string& x, const std::vector<int64_t>& shape) {
  return g.node("Reshape", {x, g.ints(shape)});
}

std::string clip(Graph& g, const std::string& x, float lo, float hi) {
  return g.node("Clip", {x, g.scalar(lo), g.scalar(hi)});
}

std::string leaky_relu(Graph& g, const std::string& x, float slope) {
  return g.node("LeakyRelu", {x}, {{"alpha", slope}});
}

std::string rsqrt(Graph& g, const std::string& x) { return g.node("Reciprocal", {g.node("Sqrt", {x})}); }

std::string select(Graph& g, const std::string& x, int64_t axis, int64_t index) {
  return g.node("Gather", {x, g.index(index)}, {{"axis", axis}});
}

std::string concat(Graph& g, const std::vector<std::string>& inputs, int64_t axis) {
  return g.node("Concat", inputs, {{"axis", axis}});
}

std::string slice(Graph& g, const std::string& x, int64_t axis, int64_t begin, int64_t end) {
  return g.node("Slice", {x, g.ints({begin}), g.ints({end}), g.ints({axis})});
}

std::string expand_to_batch(Graph& g, const at::Tensor& t, const std::string& like, const std::string& hint) {
  std::vector<int64_t> rest(t.sizes().begin() + 1, t.sizes().end());
  const std::string batch = g.node("Shape", {like}, {{"end", int64_t{1}}, {"start", int64_t{0}}});
  return g.node("Expand", {g.constant(t, hint), concat(g, {batch, g.ints(rest)}, 0)});
}

std::string resize_bilinear(Graph& g, const std::string& x, int64_t out_h, int64_t out_w, bool align_corners) {
  const std::string batch_channels = g.node("Shape", {x}, {{"end", int64_t{2}}, {"start", int64_t{0}}});
  const std::string sizes = concat(g, {batch_channels, g.ints({out_h, out_w})}, 0);
  return g.node(
      "Resize", {x, "", "", sizes},
      {{"coordinate_transformation_mode", std::string(align_corners ? "align_corners" : "pytorch_half_pixel")},
       {"mode", std::string("linear")}});
}

std::string depth_to_space(Graph& g, const std::string& x, const std::string& mode) {
  return g.node("DepthToSpace", {x}, {{"blocksize", int64_t{2}}, {"mode", mode}});
}

}  // namespace loom::onnx

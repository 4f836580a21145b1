#pragma once
// ONNX operators with their constant inputs and attributes spelled once, for the exporters. Values are
// names in a Graph; weights are copied into initializers. Shapes in comments are NCHW.
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "export/onnx_graph.h"

namespace loom::onnx {

struct ConvSpec {
  std::vector<int64_t> strides{1, 1};
  std::vector<int64_t> pads{0, 0, 0, 0};  // ONNX order: top, left, bottom, right
  std::vector<int64_t> dilations{1, 1};
  int64_t group = 1;
};

// Conv with weight [O, I/group, kh, kw] and an optional bias [O] (undefined: none).
std::string conv(Graph& g, const std::string& x, const at::Tensor& weight, const at::Tensor& bias,
                 const ConvSpec& spec = {});
// ConvTranspose with weight [I, O/group, kh, kw] (torch's layout), no bias; its `pads` (top, left,
// bottom, right) crop the full output.
std::string conv_transpose(Graph& g, const std::string& x, const at::Tensor& weight, int64_t stride, int64_t group,
                           const std::vector<int64_t>& pads = {0, 0, 0, 0});
// x [N, in] @ weight [out, in]ᵀ + bias [out] (undefined: none).
std::string gemm(Graph& g, const std::string& x, const at::Tensor& weight, const at::Tensor& bias);

std::string add(Graph& g, const std::string& a, const std::string& b);
std::string mul(Graph& g, const std::string& a, const std::string& b);
std::string unsqueeze(Graph& g, const std::string& x, const std::vector<int64_t>& axes);
std::string reshape(Graph& g, const std::string& x, const std::vector<int64_t>& shape);  // -1 allowed
std::string clip(Graph& g, const std::string& x, float lo, float hi);
std::string leaky_relu(Graph& g, const std::string& x, float slope);
std::string rsqrt(Graph& g, const std::string& x);  // 1 / √x (ONNX has no Rsqrt)
// x[:, index] along `axis` (the axis is dropped).
std::string select(Graph& g, const std::string& x, int64_t axis, int64_t index);
std::string concat(Graph& g, const std::vector<std::string>& inputs, int64_t axis);
// x[begin:end] along `axis`.
std::string slice(Graph& g, const std::string& x, int64_t axis, int64_t begin, int64_t end);
// A constant [1, ...] broadcast to the batch of `like` (any value whose dim 0 is the batch): [B, ...].
std::string expand_to_batch(Graph& g, const at::Tensor& t, const std::string& like, const std::string& hint);
// Bilinear resize of H and W to out_h x out_w, as at::upsample_bilinear2d with an output size:
// align_corners, or torch's half-pixel rule (ONNX pytorch_half_pixel). The target is given as sizes
// (N and C read from x), not scales, so no float rounding can change the output's side.
std::string resize_bilinear(Graph& g, const std::string& x, int64_t out_h, int64_t out_w, bool align_corners);
// DepthToSpace with blocksize 2: mode "DCR" (blocks outermost) or "CRD" (= torch's pixel_shuffle).
std::string depth_to_space(Graph& g, const std::string& x, const std::string& mode);

}  // namespace loom::onnx

#include "export/mapping_network_onnx.h"

#include <vector>

#include "core/text/cat.h"
#include "export/nn_onnx.h"
#include "export/onnx_ops.h"

namespace loom::onnx {

namespace {

// normalize_2nd_moment: x · rsqrt(mean(x², dim 1) + 1e-8).
std::string normalize_2nd_moment(Graph& g, const std::string& x) {
  const std::string mean =
      g.node("ReduceMean", {mul(g, x, x)}, {{"axes", std::vector<int64_t>{1}}, {"keepdims", int64_t{1}}});
  return mul(g, x, rsqrt(g, add(g, mean, g.scalar(1e-8f))));
}

// at::lerp(w_avg, x, psi) = w_avg + psi · (x − w_avg).
std::string truncated(Graph& g, const std::string& x, const std::string& w_avg, double psi) {
  return add(g, w_avg, mul(g, g.scalar(static_cast<float>(psi)), g.node("Sub", {x, w_avg})));
}

std::string slice_ws(Graph& g, const std::string& ws, int64_t begin, int64_t end) {
  return g.node("Slice", {ws, g.ints({begin}), g.ints({end}), g.ints({1})});
}

}  // namespace

std::string mapping_network(Graph& g, MappingNetworkImpl& mapping, const std::string& z, double truncation_psi,
                            int64_t truncation_cutoff) {
  const MappingOptions& o = mapping.options();
  if (o.c_dim > 0) unsupported("mapping", "a conditional mapping network (c_dim > 0)");
  if (o.z_dim == 0) unsupported("mapping", "a mapping network without z (z_dim 0)");
  auto scope = g.scope("mapping");
  std::string x = normalize_2nd_moment(g, z);
  const auto& layers = mapping.layers();
  for (size_t i = 0; i < layers.size(); ++i) {
    auto layer_scope = g.scope(cat("fc", i));
    x = equalized_linear(g, *layers[i].ptr(), x);
  }
  if (o.num_ws > 0) x = g.node("Tile", {unsqueeze(g, x, {1}), g.ints({1, o.num_ws, 1})});
  if (truncation_psi == 1.0 || truncation_cutoff == 0) return x;
  if (!mapping.w_avg.defined()) unsupported("mapping", "truncation without a tracked w_avg");
  const std::string w_avg = g.constant(mapping.w_avg, "w_avg");
  if (truncation_cutoff < 0 || truncation_cutoff >= o.num_ws || o.num_ws == 0)
    return truncated(g, x, w_avg, truncation_psi);
  const int64_t cut = truncation_cutoff;
  return concat(g, {truncated(g, slice_ws(g, x, 0, cut), w_avg, truncation_psi), slice_ws(g, x, cut, o.num_ws)}, 1);
}

}  // namespace loom::onnx

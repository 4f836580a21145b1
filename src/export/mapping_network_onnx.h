#pragma once
// ONNX export of the StyleGAN2 mapping network (models/stylegan2/mapping_network.h, the teacher's and the
// student's copy alike), mirroring MappingNetworkImpl::forward at inference: z's 2nd-moment
// normalisation, the fc layers, the broadcast to num_ws and the truncation towards w_avg (ψ on all ws,
// or on the first `cutoff`). Unconditional networks only (c_dim 0).
#include <cstdint>
#include <string>

#include "export/onnx_graph.h"
#include "models/stylegan2/mapping_network.h"

namespace loom::onnx {

// z: a value [N, z_dim]. Returns ws [N, num_ws, w_dim].
std::string mapping_network(Graph& g, MappingNetworkImpl& mapping, const std::string& z, double truncation_psi = 1.0,
                            int64_t truncation_cutoff = -1);

}  // namespace loom::onnx

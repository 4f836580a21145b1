#pragma once
// Convolution with FIR up- or downsampling by 2 (NVlabs conv2d_resample), as StyleGAN2 runs it:
//   up   3x3: transposed conv with stride 2 on the stored weight (in/out swapped, not flipped), then the
//             FIR filter (gain 4) so the result is exactly 2H x 2W;
//   down 3x3: FIR filter with padding, then a stride-2 conv;
//   down 1x1: FIR downsample first, then the 1x1 conv;
//   plain:    conv2d with `padding`.
// Weights are used as stored (conv2d correlates), matching NVlabs' flip_weight choices for these paths.
#include <cstdint>

#include <ATen/core/Tensor.h>

#include "nn/upfirdn2d.h"

namespace loom::nn {

// x [N, I, H, W], w [O, I, k, k], f the resample filter [4, 4]; up, down in {1, 2}, not both 2.
at::Tensor conv2d_resample(const at::Tensor& x, const at::Tensor& w, const at::Tensor& f, int64_t up, int64_t down,
                           int64_t padding);

// The FIR padding of the up-2 path after the transposed conv of a k x k weight, for a filter of side
// `filter` (what conv2d_resample pads; exporters rebuild that path from it).
FirPadding conv2d_resample_up_padding(int64_t kernel, int64_t filter, int64_t up, int64_t padding);

}  // namespace loom::nn

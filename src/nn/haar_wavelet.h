#pragma once
// One level of the orthonormal 2-D Haar wavelet transform (db1, as MobileStyleGAN's generator and its
// wavelet-domain losses use it). For each 2x2 block with pixels a b / c d (a at the even row and
// column) the four coefficients are ½·H·[a, b, c, d] with the Hadamard matrix
//   LL = ½(a + b + c + d)   (block mean × 2)
//   H1 = ½(a + b − c − d)   (top row minus bottom row)
//   H2 = ½(a − b + c − d)   (left column minus right column)
//   H3 = ½(a − b − c + d)   (diagonal)
// and, H·H being 4·I, the inverse is the same map. Channels are band-major: [LL of all C channels,
// H1 of all, H2 of all, H3 of all], so a student head's 12 channels are 3 LL + 9 high-band.
#include <ATen/core/Tensor.h>

namespace loom::nn {

// x [N, C, H, W] with H, W even -> [N, 4C, H/2, W/2].
at::Tensor haar_dwt(const at::Tensor& x);
// coefficients [N, 4C, h, w] -> [N, C, 2h, 2w]; haar_idwt(haar_dwt(x)) == x.
at::Tensor haar_idwt(const at::Tensor& coefficients);

}  // namespace loom::nn

#pragma once
// FIR resampling as in StyleGAN2 (NVlabs `upfirdn2d`): upsample by zero insertion, pad (negative pads
// crop), convolve with a 2-D FIR filter, downsample by keeping every `down`-th sample. Written with
// strided (transposed) depthwise convolutions so no multiply is spent on inserted zeros or on samples
// that downsampling drops; the gradient is another upfirdn2d (see upfirdn2d.cpp).
#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

namespace loom::nn {

struct FirPadding {
  int64_t x0 = 0, x1 = 0, y0 = 0, y1 = 0;  // left, right, top, bottom
};

// The 2-D filter of 1-D taps: their outer product normalised to sum 1 ([1,3,3,1] -> [4,4], NVlabs
// setup_filter). StyleGAN2 registers it as the `resample_filter` buffer of its layers.
at::Tensor make_resample_filter(const std::vector<double>& taps = {1, 3, 3, 1});

// x [N, C, H, W], f [fh, fw]. True convolution (f flipped), scaled by `gain`.
at::Tensor upfirdn2d(const at::Tensor& x, const at::Tensor& f, int64_t up, int64_t down, FirPadding pad,
                     double gain = 1.0);

// 2x up (output 2H x 2W, gain up² keeps the mean) and 2x down with NVlabs' padding.
at::Tensor upsample2d(const at::Tensor& x, const at::Tensor& f, int64_t up = 2);
at::Tensor downsample2d(const at::Tensor& x, const at::Tensor& f, int64_t down = 2);

}  // namespace loom::nn

#pragma once
// StyleGAN2's modulated convolution (NVlabs modulated_conv2d): the weight is scaled per sample and input
// channel by `styles`, then (demodulate) each output channel is renormalised by
// rsqrt(Σ_{i,k} (w·s)² + 1e-8), which keeps unit-variance inputs at unit variance.
// Run as activation scaling around one ordinary convolution shared by the batch, equal to the
// per-sample convolution with the modulated weight; the demodulation coefficients come from a
// [N, I] x [I, O] product instead of materialising [N, O, I, k, k].
#include <cstdint>

#include <ATen/core/Tensor.h>

namespace loom::nn {

// x [N, I, H, W], weight [O, I, k, k], styles [N, I]; noise (optional) broadcasts to the output and is
// added after demodulation; up 1 or 2 (resample_filter needed for 2). In float16 the weight and styles
// are pre-normalised by their max as NVlabs does, so products stay in range.
at::Tensor modulated_conv2d(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& styles,
                            const at::Tensor& noise, int64_t up, int64_t padding, const at::Tensor& resample_filter,
                            bool demodulate);

}  // namespace loom::nn

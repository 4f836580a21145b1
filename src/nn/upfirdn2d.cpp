#include "nn/upfirdn2d.h"

#include <ATen/ops/constant_pad_nd.h>
#include <ATen/ops/conv2d.h>
#include <ATen/ops/conv_transpose2d.h>
#include <ATen/ops/outer.h>
#include <ATen/ops/tensor.h>

#include "core/cat.h"
#include "core/error.h"

namespace loom::nn {

at::Tensor make_resample_filter(const std::vector<double>& taps) {
  if (taps.empty()) throw UserError("resample filter: no taps");
  at::Tensor t = at::tensor(taps, at::kFloat);
  at::Tensor f = at::outer(t, t);
  return f / f.sum();
}

namespace {

// The filter as a depthwise weight [C, 1, fh, fw] in x's dtype.
at::Tensor depthwise(const at::Tensor& f, int64_t channels, const at::Tensor& like, double gain) {
  return (f * gain).to(like.scalar_type()).view({1, 1, f.size(0), f.size(1)}).expand({channels, 1, f.size(0), f.size(1)}).contiguous();
}

}  // namespace

at::Tensor upfirdn2d(const at::Tensor& x, const at::Tensor& f, int64_t up, int64_t down, FirPadding pad, double gain) {
  if (x.dim() != 4 || f.dim() != 2 || up < 1 || down < 1)
    throw std::invalid_argument(cat("upfirdn2d: x must be [N,C,H,W] and f [fh,fw] (got ", x.dim(), "-d and ", f.dim(), "-d)"));
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3), fh = f.size(0), fw = f.size(1);
  const int64_t out_h = h * up + pad.y0 + pad.y1 - fh + 1, out_w = w * up + pad.x0 + pad.x1 - fw + 1;
  if (out_h < 1 || out_w < 1) throw std::invalid_argument("upfirdn2d: padding leaves no output");
  at::Tensor y = x.reshape({1, n * c, h, w});
  if (up > 1) {
    // A transposed conv with stride `up` is the full convolution of the zero-inserted signal with f
    // (unflipped: it scatters). Output index o of that full convolution is the padded-correlation
    // output o - (f - 1 - pad0); the pads below crop or extend it to the requested window.
    const std::vector<int64_t> stride{up, up}, zero{0, 0}, one{1, 1};
    y = at::conv_transpose2d(y, depthwise(f, n * c, y, gain), {}, stride, zero, zero, n * c, one);
    const int64_t full_h = up * (h - 1) + fh, full_w = up * (w - 1) + fw;
    const int64_t top = pad.y0 - (fh - 1), left = pad.x0 - (fw - 1);
    y = at::constant_pad_nd(y, {left, out_w - full_w - left, top, out_h - full_h - top});
    if (down > 1) y = y.slice(2, 0, out_h, down).slice(3, 0, out_w, down);
  } else {
    y = at::constant_pad_nd(y, {pad.x0, pad.x1, pad.y0, pad.y1});
    const std::vector<int64_t> stride{down, down}, zero{0, 0}, one{1, 1};
    y = at::conv2d(y, depthwise(f.flip({0, 1}), n * c, y, gain), {}, stride, zero, one, n * c);
  }
  return y.reshape({n, c, y.size(2), y.size(3)});
}

at::Tensor upsample2d(const at::Tensor& x, const at::Tensor& f, int64_t up) {
  const int64_t fw = f.size(1), fh = f.size(0);
  FirPadding pad{(fw + up - 1) / 2, (fw - up) / 2, (fh + up - 1) / 2, (fh - up) / 2};
  return upfirdn2d(x, f, up, 1, pad, static_cast<double>(up * up));
}

at::Tensor downsample2d(const at::Tensor& x, const at::Tensor& f, int64_t down) {
  const int64_t fw = f.size(1), fh = f.size(0);
  FirPadding pad{(fw - down + 1) / 2, (fw - down) / 2, (fh - down + 1) / 2, (fh - down) / 2};
  return upfirdn2d(x, f, 1, down, pad);
}

}  // namespace loom::nn

#include "nn/upfirdn2d.h"

#include <ATen/ops/constant_pad_nd.h>
#include <ATen/ops/conv2d.h>
#include <ATen/ops/conv_transpose2d.h>
#include <ATen/ops/outer.h>
#include <ATen/ops/tensor.h>
#include <ATen/ops/zeros_like.h>
#include <torch/csrc/autograd/custom_function.h>

#include "core/error.h"
#include "core/text/cat.h"

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
  return (f * gain)
      .to(like.scalar_type())
      .view({1, 1, f.size(0), f.size(1)})
      .expand({channels, 1, f.size(0), f.size(1)})
      .contiguous();
}

// The computation: strided (transposed) depthwise convolutions, so no multiply is spent on inserted
// zeros or on samples that downsampling drops.
at::Tensor upfirdn2d_forward(const at::Tensor& x, const at::Tensor& f, int64_t up, int64_t down, FirPadding pad,
                             double gain) {
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3), fh = f.size(0), fw = f.size(1);
  const int64_t out_h = h * up + pad.y0 + pad.y1 - fh + 1, out_w = w * up + pad.x0 + pad.x1 - fw + 1;
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

// upfirdn2d is linear in x; its adjoint is another upfirdn2d (flipped filter, up and down swapped,
// padding that restores the input window). Expressing the gradient that way keeps every order of
// derivative (R1 and path-length regularisation need two) on the fast forward path instead of
// ATen's double backward of grouped convolutions, a slow path on CPU.
struct UpFirDn2dFunction : torch::autograd::Function<UpFirDn2dFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& f, int64_t up,
                            int64_t down, std::vector<int64_t> pad, double gain) {
    ctx->save_for_backward({f});
    ctx->saved_data["up"] = up;
    ctx->saved_data["down"] = down;
    ctx->saved_data["gain"] = gain;
    ctx->saved_data["pad"] = pad;
    ctx->saved_data["in_h"] = x.size(2);
    ctx->saved_data["in_w"] = x.size(3);
    at::Tensor y = upfirdn2d_forward(x, f, up, down, {pad[0], pad[1], pad[2], pad[3]}, gain);
    ctx->saved_data["out_h"] = y.size(2);
    ctx->saved_data["out_w"] = y.size(3);
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const at::Tensor f = ctx->get_saved_variables()[0];
    const int64_t up = ctx->saved_data["up"].toInt(), down = ctx->saved_data["down"].toInt();
    const auto pad = ctx->saved_data["pad"].toIntVector();
    const int64_t in_h = ctx->saved_data["in_h"].toInt(), in_w = ctx->saved_data["in_w"].toInt();
    const int64_t out_h = ctx->saved_data["out_h"].toInt(), out_w = ctx->saved_data["out_w"].toInt();
    const int64_t fh = f.size(0), fw = f.size(1);
    std::vector<int64_t> gpad{fw - pad[0] - 1, in_w * up - out_w * down + pad[0] - up + 1, fh - pad[2] - 1,
                              in_h * up - out_h * down + pad[2] - up + 1};
    at::Tensor dx =
        UpFirDn2dFunction::apply(grads[0], f.flip({0, 1}), down, up, gpad, ctx->saved_data["gain"].toDouble());
    return {dx, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor upfirdn2d(const at::Tensor& x, const at::Tensor& f, int64_t up, int64_t down, FirPadding pad, double gain) {
  if (x.dim() != 4 || f.dim() != 2 || up < 1 || down < 1)
    throw std::invalid_argument(
        cat("upfirdn2d: x must be [N,C,H,W] and f [fh,fw] (got ", x.dim(), "-d and ", f.dim(), "-d)"));
  const int64_t out_h = x.size(2) * up + pad.y0 + pad.y1 - f.size(0) + 1,
                out_w = x.size(3) * up + pad.x0 + pad.x1 - f.size(1) + 1;
  if (out_h < 1 || out_w < 1) throw std::invalid_argument("upfirdn2d: padding leaves no output");
  return UpFirDn2dFunction::apply(x, f.detach(), up, down, std::vector<int64_t>{pad.x0, pad.x1, pad.y0, pad.y1}, gain);
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

#include "nn/augment_pipe.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <vector>

#include <ATen/ops/affine_grid_generator.h>
#include <ATen/ops/baddbmm.h>
#include <ATen/ops/conv2d.h>
#include <ATen/ops/conv_transpose2d.h>
#include <ATen/ops/exp2.h>
#include <ATen/ops/eye.h>
#include <ATen/ops/floor.h>
#include <ATen/ops/full.h>
#include <ATen/ops/grid_sampler_2d.h>
#include <ATen/ops/grid_sampler_2d_backward.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/ones_like.h>
#include <ATen/ops/rand.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/reflection_pad2d.h>
#include <ATen/ops/round.h>
#include <ATen/ops/stack.h>
#include <ATen/ops/tensor.h>
#include <ATen/ops/where.h>
#include <ATen/ops/zeros.h>
#include <torch/csrc/autograd/custom_function.h>

#include "core/error.h"
#include "core/text/cat.h"

namespace loom::nn {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

constexpr double kPi = std::numbers::pi;

// Low-pass decomposition filter of the symlet-6 wavelet (PyWavelets / NVlabs taps). Orthogonal, so a 2×
// upsampling followed by the matching downsampling reproduces the image.
constexpr std::array<double, 12> kSym6 = {0.015404109327027373, 0.0034907120842174702, -0.11799011114819057,
                                          -0.048311742585633,   0.4910559419267466,    0.787641141030194,
                                          0.3379294217276218,   -0.07263752278646252,  -0.021060292512300564,
                                          0.04472490177066578,  0.0017677118642428036, -0.007800708325034148};
constexpr int64_t kTaps = kSym6.size();
constexpr int64_t kFilterPad = kTaps / 4;  // margin (in input pixels) the filters need on each side

// Bilinear grid sampling (zeros outside, align_corners=False) whose gradient w.r.t. the input is itself
// differentiable: ATen has no derivative for grid_sampler_2d_backward, and R1 on augmented reals needs
// one. The grid never needs a gradient here. The input gradient is linear in grad_output, so its own
// derivative is the forward sampling again.
struct GridSampleInputGrad;

struct GridSample : torch::autograd::Function<GridSample> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& input, const at::Tensor& grid) {
    ctx->save_for_backward({input, grid});
    return at::grid_sampler_2d(input, grid, /*bilinear*/ 0, /*zeros*/ 0, /*align_corners*/ false);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads);
};

struct GridSampleInputGrad : torch::autograd::Function<GridSampleInputGrad> {
  // `input` only supplies the shape and options of the result.
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& grad_output, const at::Tensor& input,
                            const at::Tensor& grid) {
    ctx->save_for_backward({grid});
    return std::get<0>(at::grid_sampler_2d_backward(grad_output.contiguous(), input, grid, 0, 0, false, {true, false}));
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const at::Tensor grid = ctx->get_saved_variables()[0];
    return {GridSample::apply(grads[0], grid), at::Tensor(), at::Tensor()};
  }
};

variable_list GridSample::backward(AutogradContext* ctx, variable_list grads) {
  const variable_list saved = ctx->get_saved_variables();
  return {GridSampleInputGrad::apply(grads[0], saved[0].detach(), saved[1]), at::Tensor()};
}

// Batched homogeneous matrices from per-sample entries (each [N] or a number), row-major.
at::Tensor matrix(const std::vector<at::Tensor>& entries, int64_t rows) {
  return at::stack(entries, -1).view({-1, rows, static_cast<int64_t>(entries.size()) / rows});
}

struct MatrixBuilder {
  at::Tensor zero, one;  // [N] float64
  at::Tensor translate2d(const at::Tensor& tx, const at::Tensor& ty) const {
    return matrix({one, zero, tx, zero, one, ty, zero, zero, one}, 3);
  }
  at::Tensor scale2d(const at::Tensor& sx, const at::Tensor& sy) const {
    return matrix({sx, zero, zero, zero, sy, zero, zero, zero, one}, 3);
  }
  at::Tensor rotate2d(const at::Tensor& theta) const {
    const at::Tensor c = theta.cos(), s = theta.sin();
    return matrix({c, -s, zero, s, c, zero, zero, zero, one}, 3);
  }
};

// One transform's per-sample gate: a uniform draw below `threshold` (float32 like the NVlabs pipe).
at::Tensor gate(at::IntArrayRef shape, float threshold, const std::optional<at::Generator>& gen,
                const at::Device& device) {
  return at::rand(shape, gen, at::TensorOptions().dtype(at::kFloat).device(device)) < threshold;
}

at::Tensor uniform(at::IntArrayRef shape, const std::optional<at::Generator>& gen, const at::Device& device) {
  return at::rand(shape, gen, at::TensorOptions().dtype(at::kFloat).device(device)).to(at::kDouble);
}

at::Tensor normal(at::IntArrayRef shape, const std::optional<at::Generator>& gen, const at::Device& device) {
  return at::randn(shape, gen, at::TensorOptions().dtype(at::kFloat).device(device)).to(at::kDouble);
}

// The sym6 taps normalised to sum 1 as a separable kernel along one axis of a [N·C, 1, H, W] batch.
at::Tensor wavelet_kernel(const at::Tensor& taps, const at::Tensor& like, bool along_width, double gain) {
  at::Tensor k = (taps * gain).to(like.options());
  return along_width ? k.view({1, 1, 1, kTaps}) : k.view({1, 1, kTaps, 1});
}

}  // namespace

AugmentMultipliers resolve_multipliers(const AugmentPipeOptions& o) {
  AugmentMultipliers m;
  const bool blit = o.preset == "bgc" || o.preset == "bg" || o.preset == "blit";
  const bool geom = o.preset == "bgc" || o.preset == "bg" || o.preset == "geom";
  const bool color = o.preset == "bgc" || o.preset == "color";
  if (!blit && !geom && !color && o.preset != "none")
    throw UserError(cat("augment preset '", o.preset, "' is not one of bgc, bg, blit, geom, color, none"));
  const auto pick = [](const std::optional<double>& explicit_value, bool in_preset) {
    return explicit_value.value_or(in_preset ? 1.0 : 0.0);
  };
  m.xflip = pick(o.xflip, blit);
  m.rotate90 = pick(o.rotate90, blit);
  m.xint = pick(o.xint, blit);
  m.scale = pick(o.scale, geom);
  m.rotate = pick(o.rotate, geom);
  m.aniso = pick(o.aniso, geom);
  m.xfrac = pick(o.xfrac, geom);
  m.brightness = pick(o.brightness, color);
  m.contrast = pick(o.contrast, color);
  m.lumaflip = pick(o.lumaflip, color);
  m.hue = pick(o.hue, color);
  m.saturation = pick(o.saturation, color);
  return m;
}

at::Tensor augment_geometric(const at::Tensor& images, const at::Tensor& g_inv_in) {
  const int64_t batch = images.size(0), channels = images.size(1), height = images.size(2), width = images.size(3);
  at::Tensor g_inv = g_inv_in.to(at::TensorOptions().dtype(at::kDouble).device(images.device()));
  const at::TensorOptions f64 = g_inv.options();
  const MatrixBuilder mb{at::zeros({1}, f64), at::ones_like(at::zeros({1}, f64))};
  const auto constant2d = [&](double a, double b, bool scale) {
    const at::Tensor ta = at::full({1}, a, f64), tb = at::full({1}, b, f64);
    return scale ? mb.scale2d(ta, tb) : mb.translate2d(ta, tb);
  };

  // Reflection padding wide enough that every output pixel, plus the filters' reach, samples real or
  // reflected content: transform the corners of the output, take the furthest excursion over the batch.
  const double cx = (width - 1) / 2.0, cy = (height - 1) / 2.0;
  const at::Tensor corners = at::tensor({-cx, cx, cx, -cx, -cy, -cy, cy, cy, 1.0, 1.0, 1.0, 1.0}, f64).view({3, 4});
  const at::Tensor cp = at::matmul(g_inv, corners).cpu();  // [N, 3, 4]: the one host sync of the pipe
  const double reach = 2.0 * kFilterPad;
  const auto margin = [&](int64_t row, double sign, double centre, int64_t size) {
    const double m = (cp.select(1, row) * sign).max().item<double>() + reach - centre;
    return static_cast<int64_t>(std::ceil(std::clamp(m, 0.0, static_cast<double>(size - 1))));
  };
  const int64_t mx0 = margin(0, -1, cx, width), my0 = margin(1, -1, cy, height);
  const int64_t mx1 = margin(0, 1, cx, width), my1 = margin(1, 1, cy, height);

  at::Tensor x = at::reflection_pad2d(images, {mx0, mx1, my0, my1});
  g_inv = at::matmul(constant2d((mx0 - mx1) / 2.0, (my0 - my1) / 2.0, false), g_inv);

  // 2× upsampling: zero insertion + filtering is a stride-2 transposed convolution (same taps, no flip).
  const at::Tensor taps = at::tensor(at::ArrayRef<double>(kSym6.data(), kTaps), at::kDouble);
  const at::Tensor taps_unit = taps / taps.sum();
  const int64_t padded_h = x.size(2), padded_w = x.size(3);
  x = x.reshape({batch * channels, 1, padded_h, padded_w});
  x = at::conv_transpose2d(x, wavelet_kernel(taps_unit, x, true, 2.0), std::nullopt, at::IntArrayRef{1, 2},
                           at::IntArrayRef{0, kTaps / 2 - 1});
  x = at::conv_transpose2d(x, wavelet_kernel(taps_unit, x, false, 2.0), std::nullopt, at::IntArrayRef{2, 1},
                           at::IntArrayRef{kTaps / 2 - 1, 0});
  x = x.view({batch, channels, 2 * padded_h, 2 * padded_w});
  g_inv = at::matmul(at::matmul(constant2d(2, 2, true), g_inv), constant2d(0.5, 0.5, true));
  g_inv = at::matmul(at::matmul(constant2d(-0.5, -0.5, false), g_inv), constant2d(0.5, 0.5, false));

  // Resample into an output of the final size plus the downsampling filter's margin, at 2×.
  const int64_t out_h = (height + 2 * kFilterPad) * 2, out_w = (width + 2 * kFilterPad) * 2;
  g_inv = at::matmul(at::matmul(constant2d(2.0 / x.size(3), 2.0 / x.size(2), true), g_inv),
                     constant2d(out_w / 2.0, out_h / 2.0, true));
  const at::Tensor theta = g_inv.narrow(1, 0, 2).to(images.scalar_type()).contiguous();
  const at::Tensor grid = at::affine_grid_generator(theta, {batch, channels, out_h, out_w}, false);
  x = GridSample::apply(x, grid);

  // Downsample (filter not flipped, as NVlabs' flip_filter=True) and crop back to [H, W].
  x = x.reshape({batch * channels, 1, out_h, out_w}).narrow(2, 1, out_h - 2).narrow(3, 1, out_w - 2);
  x = at::conv2d(x, wavelet_kernel(taps_unit, x, true, 1.0), std::nullopt, at::IntArrayRef{1, 2});
  x = at::conv2d(x, wavelet_kernel(taps_unit, x, false, 1.0), std::nullopt, at::IntArrayRef{2, 1});
  return x.view({batch, channels, height, width});
}

at::Tensor augment_color(const at::Tensor& images, const at::Tensor& c_in) {
  const int64_t batch = images.size(0), channels = images.size(1), height = images.size(2), width = images.size(3);
  const at::Tensor c = c_in.to(images.options());
  at::Tensor x = images.reshape({batch, channels, height * width});
  if (channels == 3) {
    x = at::baddbmm(c.narrow(1, 0, 3).narrow(2, 3, 1), c.narrow(1, 0, 3).narrow(2, 0, 3), x);
  } else if (channels == 1) {
    // Grey images act as R = G = B; the output is the mean of the three output channels.
    const at::Tensor mean_rows = c.narrow(1, 0, 3).mean(1, /*keepdim*/ true);  // [N, 1, 4]
    x = x * mean_rows.narrow(2, 0, 3).sum(2, true) + mean_rows.narrow(2, 3, 1);
  } else {
    throw UserError(
        cat("colour augmentation needs RGB (3 channels) or grey (1 channel) images, got ", channels, " channels"));
  }
  return x.view({batch, channels, height, width});
}

AugmentPipeImpl::AugmentPipeImpl(const AugmentPipeOptions& options)
    : options_(options), multipliers_(resolve_multipliers(options)) {
  p_ = register_buffer("p", at::zeros({}, at::kFloat));
}

void AugmentPipeImpl::set_p(double p) {
  at::NoGradGuard no_grad;
  p_.fill_(p);
}

double AugmentPipeImpl::p() const { return p_.item<double>(); }

at::Tensor AugmentPipeImpl::geometric_inverse(int64_t n, int64_t height, int64_t width, float p,
                                              const std::optional<at::Generator>& gen, const at::Device& device) const {
  const AugmentMultipliers& m = multipliers_;
  const AugmentPipeOptions& o = options_;
  const at::TensorOptions f64 = at::TensorOptions().dtype(at::kDouble).device(device);
  const MatrixBuilder mb{at::zeros({n}, f64), at::ones_like(at::zeros({n}, f64))};
  const at::Tensor zero = mb.zero, one = mb.one;
  // Each step right-multiplies the inverse of its transform, so the first one listed acts last on pixels.
  at::Tensor g = at::eye(3, f64).expand({n, 3, 3});
  if (m.xflip > 0) {
    at::Tensor i = at::floor(uniform({n}, gen, device) * 2);
    i = at::where(gate({n}, float(m.xflip) * p, gen, device), i, zero);
    g = at::matmul(g, mb.scale2d(1 / (1 - 2 * i), one));
  }
  if (m.rotate90 > 0) {
    at::Tensor i = at::floor(uniform({n}, gen, device) * 4);
    i = at::where(gate({n}, float(m.rotate90) * p, gen, device), i, zero);
    g = at::matmul(g, mb.rotate2d(i * (kPi / 2)));
  }
  if (m.xint > 0) {
    at::Tensor t = (uniform({n, 2}, gen, device) * 2 - 1) * o.xint_max;
    t = at::where(gate({n, 1}, float(m.xint) * p, gen, device), t, zero.view({n, 1}));
    g = at::matmul(g, mb.translate2d(-at::round(t.select(1, 0) * width), -at::round(t.select(1, 1) * height)));
  }
  if (m.scale > 0) {
    at::Tensor s = at::exp2(normal({n}, gen, device) * o.scale_std);
    s = at::where(gate({n}, float(m.scale) * p, gen, device), s, one);
    g = at::matmul(g, mb.scale2d(1 / s, 1 / s));
  }
  // Rotation is split around the anisotropic scaling (else aniso would always act along the image axes);
  // each half fires with 1 - sqrt(1 - rotate·p), so that either one fires with rotate·p.
  const float p_rot = 1.f - std::sqrt(std::clamp(1.f - float(m.rotate) * p, 0.f, 1.f));
  const auto rotation = [&] {
    at::Tensor theta = (uniform({n}, gen, device) * 2 - 1) * (kPi * o.rotate_max);
    theta = at::where(gate({n}, p_rot, gen, device), theta, zero);
    g = at::matmul(g, mb.rotate2d(theta));
  };
  if (m.rotate > 0) rotation();
  if (m.aniso > 0) {
    at::Tensor s = at::exp2(normal({n}, gen, device) * o.aniso_std);
    s = at::where(gate({n}, float(m.aniso) * p, gen, device), s, one);
    g = at::matmul(g, mb.scale2d(1 / s, s));
  }
  if (m.rotate > 0) rotation();
  if (m.xfrac > 0) {
    at::Tensor t = normal({n, 2}, gen, device) * o.xfrac_std;
    t = at::where(gate({n, 1}, float(m.xfrac) * p, gen, device), t, zero.view({n, 1}));
    g = at::matmul(g, mb.translate2d(-t.select(1, 0) * width, -t.select(1, 1) * height));
  }
  return g;
}

at::Tensor AugmentPipeImpl::color_matrix(int64_t n, int64_t channels, float p, const std::optional<at::Generator>& gen,
                                         const at::Device& device) const {
  const AugmentMultipliers& m = multipliers_;
  const AugmentPipeOptions& o = options_;
  const at::TensorOptions f64 = at::TensorOptions().dtype(at::kDouble).device(device);
  const at::Tensor zero = at::zeros({n}, f64), one = at::ones_like(zero);
  const at::Tensor eye4 = at::eye(4, f64);
  // Each step left-multiplies: later transforms act on the result of earlier ones.
  at::Tensor c = eye4.expand({n, 4, 4});
  if (m.brightness > 0) {
    at::Tensor b = normal({n}, gen, device) * o.brightness_std;
    b = at::where(gate({n}, float(m.brightness) * p, gen, device), b, zero);
    c = at::matmul(matrix({one, zero, zero, b, zero, one, zero, b, zero, zero, one, b, zero, zero, zero, one}, 4), c);
  }
  if (m.contrast > 0) {
    at::Tensor s = at::exp2(normal({n}, gen, device) * o.contrast_std);
    s = at::where(gate({n}, float(m.contrast) * p, gen, device), s, one);
    c = at::matmul(matrix({s, zero, zero, zero, zero, s, zero, zero, zero, zero, s, zero, zero, zero, zero, one}, 4),
                   c);
  }
  // The luma axis (1, 1, 1, 0)/√3: luma flip reflects across the plane normal to it, hue rotates about
  // it, saturation scales the components orthogonal to it.
  const at::Tensor v = at::tensor({1.0, 1.0, 1.0, 0.0}, f64) / std::sqrt(3.0);
  const at::Tensor vv = v.unsqueeze(1) * v.unsqueeze(0);
  if (m.lumaflip > 0) {
    at::Tensor i = at::floor(uniform({n, 1, 1}, gen, device) * 2);
    i = at::where(gate({n, 1, 1}, float(m.lumaflip) * p, gen, device), i, zero.view({n, 1, 1}));
    c = at::matmul(eye4 - 2 * vv * i, c);
  }
  if (m.hue > 0 && channels > 1) {
    at::Tensor theta = (uniform({n}, gen, device) * 2 - 1) * (kPi * o.hue_max);
    theta = at::where(gate({n}, float(m.hue) * p, gen, device), theta, zero).view({n, 1, 1});
    // Rodrigues: cos·I + sin·[v]× + (1 - cos)·v vᵀ, in the RGB block only.
    const double u = 1 / std::sqrt(3.0);
    const at::Tensor cross =
        at::tensor({0.0, -u, u, 0.0, u, 0.0, -u, 0.0, -u, u, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0}, f64).view({4, 4});
    const at::Tensor rgb_eye = at::tensor({1.0, 1.0, 1.0, 0.0}, f64).diag();
    const at::Tensor rot = (eye4 - rgb_eye) + theta.cos() * rgb_eye + theta.sin() * cross + (1 - theta.cos()) * vv;
    c = at::matmul(rot, c);
  }
  if (m.saturation > 0 && channels > 1) {
    at::Tensor s = at::exp2(normal({n, 1, 1}, gen, device) * o.saturation_std);
    s = at::where(gate({n, 1, 1}, float(m.saturation) * p, gen, device), s, one.view({n, 1, 1}));
    c = at::matmul(vv + (eye4 - vv) * s, c);
  }
  return c;
}

at::Tensor AugmentPipeImpl::forward(const at::Tensor& images, std::optional<at::Generator> generator) {
  if (images.dim() != 4 || !images.is_floating_point())
    throw UserError(
        cat("AugmentPipe expects floating-point images [N, C, H, W], got ", images.dim(), "-d ", images.scalar_type()));
  const int64_t n = images.size(0), channels = images.size(1), height = images.size(2), width = images.size(3);
  const bool geometric = multipliers_.any_geometric(), color = multipliers_.any_color(channels);
  if (color && channels != 3 && channels != 1)
    throw UserError(
        cat("colour augmentation needs RGB (3 channels) or grey (1 channel) images, got ", channels, " channels"));
  if (geometric && (height < 2 || width < 2))
    throw UserError(cat("geometric augmentation needs images of at least 2x2 pixels, got ", height, "x", width));
  const float p = p_.item<float>();
  if (p <= 0 || n == 0 || (!geometric && !color)) return images;

  at::Tensor x = images;
  if (geometric) x = augment_geometric(x, geometric_inverse(n, height, width, p, generator, images.device()));
  if (color) x = augment_color(x, color_matrix(n, channels, p, generator, images.device()));
  return x;
}

}  // namespace loom::nn

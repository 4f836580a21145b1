// loom::nn::AugmentPipe: identity at p = 0, each transform alone against its definition, the firing
// frequencies, float64 gradients (first and second order), determinism and errors. Parity with an
// independent Python implementation is in test_augment_parity.cpp.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <ATen/CPUGeneratorImpl.h>

#include <chrono>
#include <cmath>
#include <map>
#include <set>
#include <string>

#include "core/error.h"
#include "nn/augment_pipe.h"
#include "support/gradient_check.h"

namespace {

using loom::nn::AugmentPipe;
using loom::nn::AugmentPipeOptions;

at::Generator generator(uint64_t seed) { return at::make_generator<at::CPUGeneratorImpl>(seed); }

// A pipe with one transform enabled (multiplier 1) and overall probability p.
AugmentPipe only(const std::string& name, double p = 1.0) {
  static const std::map<std::string, std::optional<double> AugmentPipeOptions::*> fields{
      {"xflip", &AugmentPipeOptions::xflip},       {"rotate90", &AugmentPipeOptions::rotate90},
      {"xint", &AugmentPipeOptions::xint},         {"scale", &AugmentPipeOptions::scale},
      {"rotate", &AugmentPipeOptions::rotate},     {"aniso", &AugmentPipeOptions::aniso},
      {"xfrac", &AugmentPipeOptions::xfrac},       {"brightness", &AugmentPipeOptions::brightness},
      {"contrast", &AugmentPipeOptions::contrast}, {"lumaflip", &AugmentPipeOptions::lumaflip},
      {"hue", &AugmentPipeOptions::hue},           {"saturation", &AugmentPipeOptions::saturation}};
  AugmentPipeOptions o;
  o.preset = "none";
  o.*fields.at(name) = 1.0;
  AugmentPipe pipe(o);
  pipe->set_p(p);
  return pipe;
}

AugmentPipe bgc(double p = 1.0) {
  AugmentPipe pipe(AugmentPipeOptions{});
  pipe->set_p(p);
  return pipe;
}

at::Tensor images(int64_t n, int64_t c, int64_t h, int64_t w, uint64_t seed = 1, at::ScalarType dtype = at::kFloat) {
  return at::randn({n, c, h, w}, generator(seed), at::TensorOptions().dtype(at::kDouble)).clamp(-2, 2).to(dtype);
}

// Band-limited images (a few random low-frequency waves per channel). Flips and right-angle rotations go
// through the same 2× wavelet resampling as every geometric transform; sym6 is nearly but not exactly
// symmetric (centre of mass at tap 5.10, not 5.5), so mirrored content comes back sub-pixel shifted, which
// is small only for smooth content. The NVlabs pipe behaves the same; parity is in test_augment_parity.
at::Tensor smooth_images(int64_t n, int64_t c, int64_t h, int64_t w, uint64_t seed = 2) {
  at::Generator gen = generator(seed);
  const at::TensorOptions f64 = at::TensorOptions().dtype(at::kDouble);
  const at::Tensor ys = at::arange(h, f64).view({1, 1, h, 1}), xs = at::arange(w, f64).view({1, 1, 1, w});
  at::Tensor out = at::zeros({n, c, h, w}, f64);
  for (int k = 0; k < 3; ++k) {
    const at::Tensor fx = (at::rand({n, c, 1, 1}, gen, f64) - 0.5) * 0.3,
                     fy = (at::rand({n, c, 1, 1}, gen, f64) - 0.5) * 0.3;
    const at::Tensor phase = at::rand({n, c, 1, 1}, gen, f64) * 6.28;
    out += at::cos(xs * fx + ys * fy + phase) / 3;
  }
  return out.to(at::kFloat);
}

double max_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

// x shifted by (dx, dy) pixels, reflecting at the borders: out[y][x] = in[y - dy][x - dx].
at::Tensor reflect_shift(const at::Tensor& x, int64_t dx, int64_t dy, int64_t r) {
  const at::Tensor padded = torch::nn::functional::pad(
      x.unsqueeze(0), torch::nn::functional::PadFuncOptions({r, r, r, r}).mode(torch::kReflect))[0];
  return padded.narrow(1, r - dy, x.size(1)).narrow(2, r - dx, x.size(2));
}

}  // namespace

TEST_CASE("p = 0 returns the input itself and draws no random numbers", "[augment]") {
  const at::Tensor x = images(4, 3, 16, 16);
  AugmentPipe pipe = bgc(0.0);
  at::manual_seed(3);
  const at::Tensor out = pipe->forward(x);
  const at::Tensor next = at::rand({4});
  at::manual_seed(3);
  CHECK(out.is_same(x));
  CHECK(at::equal(next, at::rand({4})));
  CHECK(pipe->p() == 0.0);
}

TEST_CASE("geometry with identity transforms reproduces the image (wavelet round trip)", "[augment]") {
  for (const auto& [c, h, w] :
       std::vector<std::tuple<int64_t, int64_t, int64_t>>{{3, 16, 16}, {1, 12, 20}, {3, 7, 5}}) {
    const at::Tensor x = images(3, c, h, w);
    const at::Tensor eye = at::eye(3, at::kDouble).expand({3, 3, 3});
    CHECK(max_diff(loom::nn::augment_geometric(x, eye), x) < 1e-5);
    const at::Tensor xd = x.to(at::kDouble);
    CHECK(max_diff(loom::nn::augment_geometric(xd, eye), xd) < 1e-10);
  }
}

TEST_CASE("xflip mirrors some samples and leaves the others", "[augment]") {
  const at::Tensor x = smooth_images(32, 3, 16, 16);
  const at::Tensor out = only("xflip")->forward(x, generator(7));
  int flipped = 0, kept = 0;
  for (int64_t i = 0; i < x.size(0); ++i) {
    const double as_is = max_diff(out[i], x[i]), mirrored = max_diff(out[i], x[i].flip({2}));
    CHECK(std::min(as_is, mirrored) < 0.03);
    CHECK(std::max(as_is, mirrored) > 0.2);
    (mirrored < as_is ? flipped : kept)++;
  }
  CHECK(flipped > 4);
  CHECK(kept > 4);
}

TEST_CASE("rotate90 gives one of the four right-angle rotations, all of them over a batch", "[augment]") {
  const at::Tensor x = smooth_images(48, 3, 12, 12);
  const at::Tensor out = only("rotate90")->forward(x, generator(8));
  std::set<int> seen;
  for (int64_t i = 0; i < x.size(0); ++i) {
    int best = -1;
    double best_err = 1e9, second = 1e9;
    for (int k = 0; k < 4; ++k) {
      const double err = max_diff(out[i], at::rot90(x[i], k, {1, 2}));
      if (err < best_err)
        second = best_err, best_err = err, best = k;
      else
        second = std::min(second, err);
    }
    CHECK(best_err < 0.03);
    CHECK(second > 4 * best_err);
    seen.insert(best);
  }
  CHECK(seen.size() == 4);
}

TEST_CASE("xint shifts by whole pixels with reflection at the borders", "[augment]") {
  const int64_t size = 24, r = 3;  // xint_max 0.125 → shifts within ±3 pixels
  const at::Tensor x = images(24, 3, size, size);
  const at::Tensor out = only("xint")->forward(x, generator(9));
  int moved = 0;
  for (int64_t i = 0; i < x.size(0); ++i) {
    double best_err = 1e9;
    std::pair<int64_t, int64_t> best;
    for (int64_t dy = -r; dy <= r; ++dy)
      for (int64_t dx = -r; dx <= r; ++dx) {
        const double err = max_diff(out[i], reflect_shift(x[i], dx, dy, r));
        if (err < best_err) best_err = err, best = {dx, dy};
      }
    CHECK(best_err < 1e-4);
    moved += best != std::pair<int64_t, int64_t>{0, 0};
  }
  CHECK(moved > 12);
}

TEST_CASE("general geometry moves pixels but keeps shape, dtype and finite values", "[augment]") {
  for (const char* name : {"scale", "rotate", "aniso", "xfrac"}) {
    const at::Tensor x = images(8, 3, 16, 12);
    const at::Tensor out = only(name)->forward(x, generator(10));
    INFO(name);
    CHECK(out.sizes() == x.sizes());
    CHECK(out.scalar_type() == x.scalar_type());
    CHECK(out.isfinite().all().item<bool>());
    CHECK(max_diff(out, x) > 0.1);
  }
}

TEST_CASE("brightness adds one offset per sample with the configured std", "[augment]") {
  const at::Tensor x = images(2000, 3, 2, 2);
  const at::Tensor d = (only("brightness")->forward(x, generator(11)) - x).view({2000, -1});
  CHECK((d - d.mean(1, true)).abs().max().item<double>() < 1e-5);
  CHECK((d.mean(1).abs() > 0).all().item<bool>());  // p = 1: every sample
  CHECK(d.mean(1).std().item<double>() == Approx(0.2).epsilon(0.08));
}

TEST_CASE("contrast scales each sample about zero, log2-normally", "[augment]") {
  const at::Tensor x = images(2000, 3, 2, 2).to(at::kDouble);
  const at::Tensor out = only("contrast")->forward(x, generator(12)).view({2000, -1});
  const at::Tensor flat = x.view({2000, -1});
  const at::Tensor c = (out * flat).sum(1, true) / flat.square().sum(1, true);
  CHECK((out - c * flat).abs().max().item<double>() < 1e-9);
  CHECK(at::log2(c).std().item<double>() == Approx(0.5).epsilon(0.08));
}

TEST_CASE("lumaflip negates the luma and keeps the chroma", "[augment]") {
  const at::Tensor x = images(32, 3, 8, 8);
  const at::Tensor out = only("lumaflip")->forward(x, generator(13));
  const at::Tensor flipped_luma = x - 2 * x.mean(1, true);
  int flips = 0, kept = 0;
  for (int64_t i = 0; i < x.size(0); ++i) {
    const double as_is = max_diff(out[i], x[i]), flipped = max_diff(out[i], flipped_luma[i]);
    CHECK(std::min(as_is, flipped) < 1e-5);
    (flipped < as_is ? flips : kept)++;
  }
  CHECK(flips > 4);
  CHECK(kept > 4);
  // Grey images (one channel) are their luma: flipped samples are negated.
  const at::Tensor grey = images(32, 1, 4, 4);
  const at::Tensor grey_out = only("lumaflip")->forward(grey, generator(13));
  for (int64_t i = 0; i < grey.size(0); ++i)
    CHECK(std::min(max_diff(grey_out[i], grey[i]), max_diff(grey_out[i], -grey[i])) < 1e-6);
}

TEST_CASE("hue rotates chroma about the luma axis, saturation scales it", "[augment]") {
  const at::Tensor x = images(64, 3, 4, 4).to(at::kDouble);
  const at::Tensor luma = x.mean(1, true), chroma = x - luma;
  SECTION("hue") {
    const at::Tensor out = only("hue")->forward(x, generator(14));
    CHECK(max_diff(out.mean(1, true), luma) < 1e-12);
    CHECK(max_diff((out - out.mean(1, true)).norm(2, 1), chroma.norm(2, 1)) < 1e-12);
    CHECK(max_diff(out, x) > 0.1);
  }
  SECTION("saturation") {
    const at::Tensor out = only("saturation")->forward(x, generator(15));
    CHECK(max_diff(out.mean(1, true), luma) < 1e-12);
    const at::Tensor c = out - out.mean(1, true);
    const at::Tensor s = (c * chroma).sum({1, 2, 3}, true) / chroma.square().sum({1, 2, 3}, true);
    CHECK(max_diff(c, s * chroma) < 1e-12);
    CHECK(at::log2(s).std().item<double>() > 0.5);
  }
  SECTION("grey images are fixed points") {
    const at::Tensor grey = x.mean(1, true).expand({-1, 3, -1, -1}).contiguous();
    CHECK(max_diff(only("hue")->forward(grey, generator(16)), grey) < 1e-12);
    CHECK(max_diff(only("saturation")->forward(grey, generator(16)), grey) < 1e-12);
    const at::Tensor one_channel = x.narrow(1, 0, 1);  // one channel: hue and saturation do not apply
    CHECK(only("hue")->forward(one_channel, generator(16)).is_same(one_channel));
  }
}

TEST_CASE("each transform fires with probability multiplier · p", "[augment]") {
  const int64_t n = 4000;
  SECTION("brightness") {
    const at::Tensor x = images(n, 3, 2, 2);
    const at::Tensor d = (only("brightness", 0.3)->forward(x, generator(17)) - x).view({n, -1}).mean(1);
    CHECK((d != 0).to(at::kDouble).mean().item<double>() == Approx(0.3).margin(0.03));
  }
  SECTION("xflip: half of the fired ones mirror") {
    const at::Tensor x = images(n, 1, 4, 4);
    const at::Tensor out = only("xflip", 0.4)->forward(x, generator(18));
    const at::Tensor err_flip = (out - x.flip({3})).abs().amax({1, 2, 3}), err_keep = (out - x).abs().amax({1, 2, 3});
    CHECK((err_flip < err_keep).to(at::kDouble).mean().item<double>() == Approx(0.2).margin(0.03));
  }
  SECTION("rotate: pre- or post-rotation, together p") {
    const at::Tensor x = images(n / 2, 1, 8, 8, 1, at::kDouble);
    const at::Tensor out = only("rotate", 0.5)->forward(x, generator(19));
    const at::Tensor still = loom::nn::augment_geometric(x, at::eye(3, at::kDouble).expand({n / 2, 3, 3}));
    const at::Tensor unchanged = (out - still).abs().amax({1, 2, 3}) < 1e-9;
    CHECK(unchanged.to(at::kDouble).mean().item<double>() == Approx(0.5).margin(0.05));
  }
}

TEST_CASE("gradients w.r.t. the images match float64 central differences", "[augment]") {
  AugmentPipe pipe = bgc(1.0);
  const at::Tensor x = images(1, 3, 8, 8, 20, at::kDouble);
  const at::Tensor weight = at::randn(x.sizes(), generator(21), at::kDouble);
  // The same random draws in every evaluation: a fresh generator with a fixed seed.
  const loom::test::ScalarFunction fn = [&](const std::vector<at::Tensor>& in) {
    return (pipe->forward(in[0], generator(22)) * weight).sum();
  };
  CHECK(loom::test::gradient_check_error(fn, {x}) < 1e-7);
}

TEST_CASE("second-order gradients (R1 on augmented reals) match float64 central differences", "[augment]") {
  AugmentPipe pipe = bgc(1.0);
  {
    const at::Tensor small = images(1, 3, 5, 5, 23, at::kDouble);
    const at::Tensor w = at::randn(small.sizes(), generator(24), at::kDouble);
    const loom::test::ScalarFunction r1 = [&](const std::vector<at::Tensor>& in) {
      at::AutoGradMode grad_mode(true);  // the numerical pass runs under no_grad; this needs a graph
      const at::Tensor leaf = in[0].requires_grad() ? in[0] : in[0].detach().requires_grad_(true);
      const at::Tensor logits = (at::tanh(pipe->forward(leaf, generator(25))) * w).sum();
      const at::Tensor g = torch::autograd::grad({logits}, {leaf}, {}, /*retain_graph*/ true, /*create_graph*/ true)[0];
      return g.square().sum();
    };
    CHECK(loom::test::gradient_check_error(r1, {small}) < 1e-6);
  }
}

TEST_CASE("randomness follows the given or the default generator", "[augment]") {
  AugmentPipe pipe = bgc(0.8);
  const at::Tensor x = images(6, 3, 16, 16);
  CHECK(at::equal(pipe->forward(x, generator(30)), pipe->forward(x, generator(30))));
  CHECK(!at::equal(pipe->forward(x, generator(30)), pipe->forward(x, generator(31))));
  at::manual_seed(32);
  const at::Tensor a = pipe->forward(x);
  at::manual_seed(32);
  CHECK(at::equal(a, pipe->forward(x)));
}

TEST_CASE("p is a checkpointed buffer", "[augment]") {
  AugmentPipe pipe = bgc(0.25);
  const auto buffers = pipe->named_buffers();
  REQUIRE(buffers.contains("p"));
  CHECK(buffers["p"].dim() == 0);
  CHECK(buffers["p"].item<float>() == 0.25f);
  CHECK(pipe->parameters().empty());
}

TEST_CASE("presets and explicit multipliers", "[augment]") {
  using loom::nn::resolve_multipliers;
  const auto m = resolve_multipliers({});
  CHECK((m.xflip == 1 && m.rotate90 == 1 && m.xint == 1 && m.scale == 1 && m.rotate == 1 && m.aniso == 1 &&
         m.xfrac == 1));
  CHECK((m.brightness == 1 && m.contrast == 1 && m.lumaflip == 1 && m.hue == 1 && m.saturation == 1));
  AugmentPipeOptions o;
  o.preset = "bg";
  o.xflip = 0.0;
  o.hue = 0.5;
  const auto b = resolve_multipliers(o);
  CHECK((b.xflip == 0 && b.rotate90 == 1 && b.xfrac == 1 && b.brightness == 0 && b.hue == 0.5));
  o = {};
  o.preset = "color";
  CHECK(!resolve_multipliers(o).any_geometric());
  o.preset = "blitz";
  CHECK_THROWS_AS(resolve_multipliers(o), loom::UserError);
}

TEST_CASE("bad images are user errors", "[augment]") {
  AugmentPipe pipe = bgc(1.0);
  CHECK_THROWS_AS(pipe->forward(at::zeros({2, 4, 8, 8})), loom::UserError);  // colour needs 3 or 1 channels
  CHECK_THROWS_AS(pipe->forward(at::zeros({3, 8, 8})), loom::UserError);
  CHECK_THROWS_AS(pipe->forward(at::zeros({2, 3, 8, 8}, at::kLong)), loom::UserError);
  AugmentPipeOptions geom;
  geom.preset = "geom";
  AugmentPipe geometric(geom);
  geometric->set_p(1.0);
  CHECK(geometric->forward(at::zeros({2, 4, 8, 8})).sizes() == at::IntArrayRef{2, 4, 8, 8});  // any channels
}

TEST_CASE("forward + backward time on the CPU", "[augment]") {
  AugmentPipe pipe = bgc(1.0);
  const at::Tensor x = images(8, 3, 64, 64).requires_grad_(true);
  pipe->forward(x, generator(40)).sum().backward();  // warm-up
  const auto start = std::chrono::steady_clock::now();
  const int reps = 5;
  for (int i = 0; i < reps; ++i) pipe->forward(x, generator(41 + i)).square().sum().backward();
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() / reps;
  WARN("AugmentPipe bgc forward+backward, batch 8, 3x64x64, CPU: " << ms << " ms");
  for (const char* preset : {"geom", "color"}) {
    AugmentPipeOptions o;
    o.preset = preset;
    AugmentPipe part(o);
    part->set_p(1.0);
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < reps; ++i) part->forward(x, generator(50 + i)).square().sum().backward();
    const double part_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / reps;
    WARN(preset << " only: " << part_ms << " ms");
  }
  CHECK(x.grad().abs().sum().item<double>() > 0);
}

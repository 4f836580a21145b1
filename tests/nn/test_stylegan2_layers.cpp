// The StyleGAN2 building blocks against their definitions: FIR resampling against a direct
// zero-insert / pad / convolve / decimate loop, the modulated convolution against an explicit
// per-sample convolution with the modulated (and demodulated) weight, unit variance after
// demodulation, minibatch standard deviation by hand, and float64 central-difference gradients.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <cmath>

#include "models/stylegan2/discriminator.h"
#include "nn/bias_act.h"
#include "nn/conv2d_resample.h"
#include "nn/modulated_conv2d.h"
#include "nn/upfirdn2d.h"
#include "support/gradient_check.h"

using loom::test::gradient_check_error;
using loom::test::relative_error;
namespace nn = loom::nn;

namespace {

// The definition, one output sample at a time: zero insertion, padding (negative crops), true
// convolution with f (flipped correlation), keeping every `down`-th sample, times gain.
at::Tensor direct_upfirdn2d(const at::Tensor& x, const at::Tensor& f, int64_t up, int64_t down, nn::FirPadding p,
                            double gain) {
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3), fh = f.size(0), fw = f.size(1);
  const int64_t uh = h * up + p.y0 + p.y1, uw = w * up + p.x0 + p.x1;
  auto xa = x.accessor<double, 4>();
  auto fa = f.accessor<double, 2>();
  auto sample = [&](int64_t b, int64_t ch, int64_t i, int64_t j) -> double {  // padded, zero-inserted signal
    const int64_t si = i - p.y0, sj = j - p.x0;
    if (si < 0 || sj < 0 || si >= h * up || sj >= w * up || si % up || sj % up) return 0.0;
    return xa[b][ch][si / up][sj / up];
  };
  const int64_t oh = (uh - fh) / down + 1, ow = (uw - fw) / down + 1;
  at::Tensor out = at::zeros({n, c, oh, ow}, at::kDouble);
  auto oa = out.accessor<double, 4>();
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          double s = 0;
          for (int64_t u = 0; u < fh; ++u)
            for (int64_t v = 0; v < fw; ++v)
              s += sample(b, ch, i * down + u, j * down + v) * fa[fh - 1 - u][fw - 1 - v];
          oa[b][ch][i][j] = s * gain;
        }
  return out;
}

}  // namespace

TEST_CASE("upfirdn2d equals the direct zero-insert, pad, convolve, decimate definition", "[stylegan2][fir]") {
  torch::manual_seed(1);
  const at::Tensor x = torch::randn({2, 3, 7, 6}, torch::kDouble);
  // An asymmetric filter, so a flipped or transposed filter would show.
  const at::Tensor f = torch::rand({4, 3}, torch::kDouble);
  struct Case {
    int64_t up, down;
    nn::FirPadding pad;
    double gain;
  };
  for (const Case& c :
       {Case{2, 1, {2, 1, 2, 1}, 4.0}, Case{1, 2, {1, 1, 1, 1}, 1.0}, Case{1, 1, {0, 2, 1, 0}, 1.0},
        Case{2, 1, {-1, 3, 0, -2}, 2.0}, Case{2, 2, {1, 2, 2, 1}, 1.0}, Case{3, 1, {4, 5, 1, 1}, 1.0}}) {
    INFO("up " << c.up << " down " << c.down << " pad " << c.pad.x0 << "," << c.pad.x1 << "," << c.pad.y0 << ","
               << c.pad.y1);
    const at::Tensor got = nn::upfirdn2d(x, f, c.up, c.down, c.pad, c.gain);
    const at::Tensor want = direct_upfirdn2d(x, f, c.up, c.down, c.pad, c.gain);
    REQUIRE(got.sizes() == want.sizes());
    CHECK(relative_error(got, want) < 1e-12);
  }
  const at::Tensor standard = nn::make_resample_filter().to(at::kDouble);
  CHECK(std::abs(standard.sum().item<double>() - 1.0) < 1e-7);
  CHECK(nn::upsample2d(x, standard).sizes() == at::IntArrayRef({2, 3, 14, 12}));
  CHECK(nn::downsample2d(x.narrow(3, 0, 6), standard).sizes() ==
        at::IntArrayRef({2, 3, 3, 3}));  // floor((7 + 2 - 4) / 2) + 1 rows
  // Up then down with the normalised filter keeps a constant image constant away from the borders.
  const at::Tensor ones = torch::ones({1, 1, 8, 8}, torch::kDouble);
  CHECK((nn::upsample2d(ones, standard).slice(2, 2, 14).slice(3, 2, 14) - 1).abs().max().item<double>() < 1e-12);
}

TEST_CASE("conv2d_resample paths equal a direct FIR plus convolution", "[stylegan2][fir]") {
  torch::manual_seed(2);
  const at::Tensor f = nn::make_resample_filter().to(at::kDouble);
  const at::Tensor x = torch::randn({2, 4, 8, 8}, torch::kDouble);
  const at::Tensor w3 = torch::randn({5, 4, 3, 3}, torch::kDouble), w1 = torch::randn({5, 4, 1, 1}, torch::kDouble);
  // Upsampling: a transposed conv on the stored weight is the zero-inserted signal convolved with it;
  // followed by the FIR, that is: zero-insert, FIR (gain 4) and the full correlation with the flipped weight.
  // Both steps are linear and shift-invariant, so: the full FIR of the zero-inserted signal, then the
  // full convolution with the weight, and NVlabs' window of it (offset 2).
  at::Tensor up_ref = direct_upfirdn2d(x, f, 2, 1, {3, 3, 3, 3}, 4.0);
  up_ref = torch::conv2d(up_ref, w3.flip({2, 3}), {}, 1, 2);
  const at::Tensor up = nn::conv2d_resample(x, w3, f, 2, 1, 1);
  REQUIRE(up.sizes() == at::IntArrayRef({2, 5, 16, 16}));
  CHECK(relative_error(up, up_ref.slice(2, 2, 18).slice(3, 2, 18)) < 1e-12);
  // Downsampling 3x3: FIR with padding 2, then the strided correlation.
  const at::Tensor down_ref = torch::conv2d(direct_upfirdn2d(x, f, 1, 1, {2, 2, 2, 2}, 1.0), w3, {}, 2);
  CHECK(relative_error(nn::conv2d_resample(x, w3, f, 1, 2, 1), down_ref) < 1e-12);
  // Downsampling 1x1: FIR decimation, then the 1x1 conv.
  const at::Tensor skip_ref = torch::conv2d(direct_upfirdn2d(x, f, 1, 2, {1, 1, 1, 1}, 1.0), w1);
  CHECK(relative_error(nn::conv2d_resample(x, w1, f, 1, 2, 0), skip_ref) < 1e-12);
}

TEST_CASE("modulated convolution equals a per-sample convolution with the modulated weight", "[stylegan2][modconv]") {
  torch::manual_seed(3);
  const at::Tensor f = nn::make_resample_filter().to(at::kDouble);
  const at::Tensor x = torch::randn({3, 4, 8, 8}, torch::kDouble), weight = torch::randn({6, 4, 3, 3}, torch::kDouble);
  const at::Tensor styles = torch::randn({3, 4}, torch::kDouble), noise = torch::randn({3, 1, 8, 8}, torch::kDouble);
  for (bool demodulate : {true, false}) {
    at::Tensor got = nn::modulated_conv2d(x, weight, styles, noise, 1, 1, at::Tensor(), demodulate);
    at::Tensor got_up = nn::modulated_conv2d(x, weight, styles, at::Tensor(), 2, 1, f, demodulate);
    for (int64_t n = 0; n < 3; ++n) {
      at::Tensor w = weight * styles[n].view({1, 4, 1, 1});
      if (demodulate) w = w * torch::rsqrt(w.square().sum({1, 2, 3}, true) + 1e-8);
      const at::Tensor want = torch::conv2d(x.narrow(0, n, 1), w, {}, 1, 1) + noise[n];
      const at::Tensor want_up = nn::conv2d_resample(x.narrow(0, n, 1), w, f, 2, 1, 1);
      INFO("demodulate " << demodulate << " sample " << n);
      CHECK(relative_error(got.narrow(0, n, 1), want) < 1e-12);
      CHECK(relative_error(got_up.narrow(0, n, 1), want_up) < 1e-12);
    }
  }
}

TEST_CASE("demodulation gives unit-variance outputs for unit-variance inputs", "[stylegan2][modconv]") {
  torch::manual_seed(4);
  const at::Tensor x = torch::randn({4, 64, 32, 32});
  const at::Tensor weight = torch::randn({32, 64, 3, 3}), styles = torch::randn({4, 64}) * 3 + 1;
  const at::Tensor y = nn::modulated_conv2d(x, weight, styles, at::Tensor(), 1, 1, at::Tensor(), true);
  // Per sample and output channel; interior pixels only (zero padding lowers the border variance).
  const at::Tensor var = y.slice(2, 1, 31).slice(3, 1, 31).var(/*dim=*/{2, 3}, /*unbiased=*/false);
  INFO("variance range " << var.min().item<double>() << " .. " << var.max().item<double>());
  CHECK(std::abs(var.mean().item<double>() - 1.0) < 0.02);
  CHECK(var.min().item<double>() > 0.85);
  CHECK(var.max().item<double>() < 1.15);
}

TEST_CASE("minibatch standard deviation by hand", "[stylegan2][discriminator]") {
  torch::manual_seed(5);
  const at::Tensor x = torch::randn({4, 6, 2, 2}, torch::kDouble);
  const at::Tensor y = loom::minibatch_stddev(x, 2, 2);
  REQUIRE(y.sizes() == at::IntArrayRef({4, 8, 2, 2}));
  CHECK(torch::equal(y.narrow(1, 0, 6), x));
  // Groups pair samples {0, 2} and {1, 3}; channel groups {0,1,2} and {3,4,5}.
  for (int64_t s = 0; s < 4; ++s)
    for (int64_t g = 0; g < 2; ++g) {
      const at::Tensor a = x[s % 2].narrow(0, 3 * g, 3), b = x[s % 2 + 2].narrow(0, 3 * g, 3);
      const double want = torch::sqrt((a - b).square() / 4 + 1e-8).mean().item<double>();
      CHECK(std::abs(y[s][6 + g][1][0].item<double>() - want) < 1e-12);
    }
  CHECK_THROWS_WITH(loom::minibatch_stddev(torch::randn({6, 4, 2, 2}), 4, 1),
                    Catch::Contains("multiple of the group size"));
}

TEST_CASE("float64 gradients of the resampling, modulated convolution and bias_act", "[stylegan2][gradcheck]") {
  torch::manual_seed(6);
  const at::Tensor f = nn::make_resample_filter().to(at::kDouble);
  const at::Tensor proj8 = torch::randn({2, 3, 8, 8}, torch::kDouble);
  auto x = torch::randn({2, 3, 4, 4}, torch::kDouble);
  CHECK(gradient_check_error([&](const auto& in) { return (nn::upsample2d(in[0], f) * proj8).sum(); }, {x}) < 1e-6);
  CHECK(gradient_check_error(
            [&](const auto& in) { return (nn::downsample2d(in[0], f) * proj8.narrow(2, 0, 2).narrow(3, 0, 2)).sum(); },
            {x}) < 1e-6);
  const at::Tensor w = torch::randn({2, 3, 3, 3}, torch::kDouble), s = torch::randn({2, 3}, torch::kDouble);
  const at::Tensor proj_up = torch::randn({2, 2, 8, 8}, torch::kDouble),
                   proj = torch::randn({2, 2, 4, 4}, torch::kDouble);
  CHECK(gradient_check_error(
            [&](const auto& in) {
              return (nn::modulated_conv2d(in[0], in[1], in[2], at::Tensor(), 2, 1, f, true) * proj_up).sum();
            },
            {x, w, s}) < 1e-6);
  CHECK(gradient_check_error(
            [&](const auto& in) {
              return (nn::modulated_conv2d(in[0], in[1], in[2], at::Tensor(), 1, 1, f, true) * proj).sum();
            },
            {x, w, s}) < 1e-6);
  // Away from the kink at 0 and the clamp edges.
  const at::Tensor v =
      (torch::rand({2, 3, 4, 4}, torch::kDouble) + 0.1) * torch::sign(torch::randn({2, 3, 4, 4}, torch::kDouble));
  const at::Tensor b = torch::zeros({3}, torch::kDouble);
  CHECK(gradient_check_error(
            [&](const auto& in) {
              return (nn::bias_act(in[0], in[1], nn::BiasActivation::lrelu, std::sqrt(2.0), 1.2) *
                      proj8.narrow(2, 0, 4).narrow(3, 0, 4))
                  .sum();
            },
            {v, b}) < 1e-6);
  CHECK(gradient_check_error([&](const auto& in) { return (loom::minibatch_stddev(in[0], 2, 1) * 1.7).square().sum(); },
                             {torch::randn({4, 2, 3, 3}, torch::kDouble)}) < 1e-6);
}

// loom::perceptual_distance on CUDA vs the CPU kernel and the plain-ATen reference (float64, on the CPU).
// Plain executable (the GPU machines have no Catch2): exit 0 = pass, 1 = fail, 77 = skipped (no GPU).
#include <torch/torch.h>

#include <cstdio>
#include <string>
#include <vector>

#include "ops/perceptual_distance.h"

namespace {

int failures = 0;
int checks = 0;

void check(bool ok, const std::string& what) {
  ++checks;
  if (!ok) {
    ++failures;
    std::printf("FAIL: %s\n", what.c_str());
  }
}

// max |a - b| / max |b|, in float64 on the CPU.
double rel_err(const at::Tensor& a, const at::Tensor& b) {
  const at::Tensor ad = a.detach().cpu().to(at::kDouble), bd = b.detach().cpu().to(at::kDouble);
  const double diff = (ad - bd).abs().max().item<double>();
  return diff == 0.0 ? 0.0 : diff / std::max(bd.abs().max().item<double>(), 1e-300);
}

using DistanceFn = at::Tensor (*)(const at::Tensor&, const at::Tensor&, const at::Tensor&, double);

struct Outputs {
  at::Tensor d, f0, f1, weight;  // on the CPU; f1 and weight undefined unless asked for
};

Outputs eval(DistanceFn fn, const at::Tensor& f0, const at::Tensor& f1, const at::Tensor& w, bool all_grads,
             const at::Tensor& up) {
  const at::Tensor a = f0.detach().requires_grad_(true);
  const at::Tensor b = f1.detach().requires_grad_(all_grads);
  const at::Tensor v = w.detach().requires_grad_(all_grads);
  const at::Tensor d = fn(a, b, v, 1e-10);
  const auto grads = torch::autograd::grad({d}, all_grads ? std::vector<at::Tensor>{a, b, v} : std::vector{a}, {up});
  torch::cuda::synchronize();
  return {d.detach().cpu(), grads[0].cpu(), all_grads ? grads[1].cpu() : at::Tensor(),
          all_grads ? grads[2].cpu() : at::Tensor()};
}

void compare(const std::string& name, const Outputs& got, const Outputs& want, double tol) {
  const auto one = [&](const char* what, const at::Tensor& g, const at::Tensor& w) {
    if (!w.defined()) return;
    const double e = rel_err(g, w);
    check(g.defined() && e <= tol, name + ": " + what + " rel err " + std::to_string(e) + " > " + std::to_string(tol));
    check(g.isfinite().all().item<bool>(), name + ": " + what + " not finite");
  };
  one("distance", got.d, want.d);
  one("grad f0", got.f0, want.f0);
  one("grad f1", got.f1, want.f1);
  one("grad weight", got.weight, want.weight);
}

void run_case(int64_t N, int64_t C, int64_t H, int64_t W, at::ScalarType dtype, bool all_grads) {
  const at::Tensor f0_cpu = (torch::randn({N, C, H, W}, at::kDouble) * 3).to(dtype);
  const at::Tensor f1_cpu = torch::randn({N, C, H, W}, at::kDouble).to(dtype);
  const at::Tensor w_cpu = torch::rand({C}, at::kDouble).to(dtype == at::kDouble ? at::kDouble : at::kFloat);
  const at::Tensor up_cpu = (torch::rand({N}, at::kDouble) + 0.5).to(dtype);
  const std::string name = std::to_string(N) + "x" + std::to_string(C) + "x" + std::to_string(H) + "x" +
                           std::to_string(W) + " " + std::string(c10::toString(dtype)) +
                           (all_grads ? " all grads" : " grad f0");
  const Outputs cuda =
      eval(&loom::ops::perceptual_distance, f0_cpu.cuda(), f1_cpu.cuda(), w_cpu.cuda(), all_grads, up_cpu.cuda());
  check(cuda.d.scalar_type() == dtype && cuda.d.sizes() == at::IntArrayRef{N},
        name + ": distance must be [N] of the features' dtype");
  check(!cuda.f1.defined() || cuda.f1.sizes() == f1_cpu.sizes(), name + ": grad f1 shape");
  const Outputs reference = eval(&loom::ops::perceptual_distance_reference, f0_cpu.to(at::kDouble),
                                 f1_cpu.to(at::kDouble), w_cpu.to(at::kDouble), all_grads, up_cpu.to(at::kDouble));
  if (dtype == at::kDouble || dtype == at::kFloat) {
    const double tol = dtype == at::kDouble ? 1e-10 : 1e-5;
    compare(name + " vs reference", cuda, reference, tol);
    if (C > 1) {  // C = 1: the feature gradients are rounding noise on both sides
      compare(name + " vs CPU kernel", cuda,
              eval(&loom::ops::perceptual_distance, f0_cpu, f1_cpu, w_cpu, all_grads, up_cpu), tol);
    }
  } else if (C > 1) {
    // Reduced precision, computed in float32 from the rounded inputs; the results are rounded once.
    compare(name + " vs float64 reference", cuda, reference, dtype == at::kBFloat16 ? 1e-2 : 2e-3);
  }
}

void check_determinism() {
  const auto opts = torch::device(torch::kCUDA);
  const at::Tensor f0 = torch::randn({8, 64, 128, 128}, opts), f1 = torch::randn({8, 64, 128, 128}, opts);
  const at::Tensor w = torch::rand({64}, opts), up = torch::rand({8}, opts);
  const Outputs a = eval(&loom::ops::perceptual_distance, f0, f1, w, true, up);
  const Outputs b = eval(&loom::ops::perceptual_distance, f0, f1, w, true, up);
  check(torch::equal(a.d, b.d) && torch::equal(a.f0, b.f0) && torch::equal(a.f1, b.f1) &&
            torch::equal(a.weight, b.weight),
        "8x64x128x128: repeated runs differ");
}

void check_zero_pixels() {
  // An all-zero pixel gets the limit g / eps, finite (the ATen composition gives NaN there).
  at::Tensor f0 = torch::randn({2, 5, 4, 3}, at::kDouble), f1 = torch::randn({2, 5, 4, 3}, at::kDouble);
  f0.index_put_({1, torch::indexing::Slice(), 0, 0}, 0.0);
  const at::Tensor w = torch::rand({5}, at::kDouble), up = torch::ones({2}, at::kDouble);
  const Outputs cuda = eval(&loom::ops::perceptual_distance, f0.cuda(), f1.cuda(), w.cuda(), true, up.cuda());
  const Outputs cpu = eval(&loom::ops::perceptual_distance, f0, f1, w, true, up);
  compare("zero pixel vs CPU kernel", cuda, cpu, 1e-10);
}

void check_layouts() {
  // Channels-last and sliced inputs, a non-contiguous weight; gradients back through the views.
  const at::Tensor f0 = torch::randn({3, 9, 11, 6}, torch::device(torch::kCUDA).dtype(at::kDouble));
  const at::Tensor f1 = torch::randn({3, 6, 9, 22}, torch::device(torch::kCUDA).dtype(at::kDouble));
  const at::Tensor w = torch::rand({12}, torch::device(torch::kCUDA).dtype(at::kDouble));
  const auto v0 = f0.permute({0, 3, 1, 2}), v1 = f1.slice(3, 0, 22, 2), vw = w.slice(0, 0, 12, 2);
  const Outputs cuda = eval(&loom::ops::perceptual_distance, v0, v1, vw, true, torch::ones({3}, v0.options()));
  const Outputs cpu = eval(&loom::ops::perceptual_distance_reference, v0.cpu(), v1.cpu(), vw.cpu(), true,
                           torch::ones({3}, at::kDouble));
  compare("non-contiguous vs reference", cuda, cpu, 1e-10);
}

void check_errors() {
  const at::Tensor f = torch::randn({2, 3, 4, 5}, torch::device(torch::kCUDA));
  bool threw = false;
  try {
    loom::ops::perceptual_distance(f, f, torch::rand({3}));  // weight on the CPU
  } catch (const c10::Error& e) {
    threw = std::string(e.what()).find("same device") != std::string::npos;
  }
  check(threw, "mixed devices must throw naming the device mismatch");
}

}  // namespace

int main() {
  if (!torch::cuda::is_available()) {
    std::printf("skipped: no CUDA device\n");
    return 77;
  }
  torch::manual_seed(0);
  const std::vector<std::vector<int64_t>> shapes = {
      {1, 1, 7, 5},   {2, 3, 7, 5},   {4, 64, 64, 48}, {3, 512, 7, 5}, {1, 512, 16, 16},
      {2, 3, 64, 48}, {4, 1, 64, 48}, {2, 64, 37, 29}, {1, 64, 1, 1},  {8, 128, 128, 128}};
  for (const auto& s : shapes) {
    for (auto dtype : {at::kDouble, at::kFloat, at::kHalf, at::kBFloat16}) {
      run_case(s[0], s[1], s[2], s[3], dtype, false);
      run_case(s[0], s[1], s[2], s[3], dtype, true);
    }
  }
  check_determinism();
  check_zero_pixels();
  check_layouts();
  check_errors();
  torch::cuda::synchronize();
  std::printf("%s: %d checks, %d failed\n", failures == 0 ? "PASS" : "FAIL", checks, failures);
  return failures == 0 ? 0 : 1;
}

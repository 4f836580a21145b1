// loom::focal_contrastive_loss on CUDA vs the CPU kernel and the plain-ATen reference.
// Plain executable (the GPU machines have no Catch2): exit 0 = pass, 1 = fail, 77 = skipped (no GPU).
#include <torch/torch.h>

#include <cstdio>
#include <optional>
#include <string>

#include "ops/focal_contrastive.h"
#include "support/focal_contrastive_check.h"

namespace {

using loom::test::eval;
using loom::test::LossAndGrad;
using loom::test::rel_err;

int failures = 0;
int checks = 0;

void check(bool ok, const std::string& what) {
  ++checks;
  if (!ok) {
    ++failures;
    std::printf("FAIL: %s\n", what.c_str());
  }
}

void compare(const std::string& name, const LossAndGrad& got, const LossAndGrad& want, double tol) {
  const double el = rel_err(got.loss, want.loss), eg = rel_err(got.grad, want.grad);
  check(el <= tol, name + ": loss rel err " + std::to_string(el) + " > " + std::to_string(tol));
  check(eg <= tol, name + ": grad rel err " + std::to_string(eg) + " > " + std::to_string(tol));
  check(got.grad.isfinite().all().item<bool>(), name + ": non-finite gradient");
}

void run_case(int64_t N, int64_t C, bool contrastive, at::ScalarType dtype, double alpha, double gamma,
              std::optional<double> normalizer, double scale) {
  const at::Tensor logits_cpu = (torch::randn({N, C}, at::kDouble) * scale).to(dtype);
  const at::Tensor targets_cpu = contrastive ? torch::arange(N, at::kLong) : torch::randint(C, {N}, at::kLong);
  const at::Tensor logits = logits_cpu.cuda(), targets = targets_cpu.cuda();
  const std::string name = std::to_string(N) + "x" + std::to_string(C) + " " + std::string(c10::toString(dtype)) +
                           " alpha " + std::to_string(alpha) + " gamma " + std::to_string(gamma) +
                           (normalizer ? " normalized" : "");
  const LossAndGrad cuda = eval(&loom::ops::focal_contrastive_loss, logits, targets, alpha, gamma, normalizer);
  check(cuda.loss.scalar_type() == dtype && cuda.loss.dim() == 0,
        name + ": loss must be a 0-d " + std::string(c10::toString(dtype)));
  if (dtype == at::kDouble || dtype == at::kFloat) {
    const double tol = dtype == at::kDouble ? 1e-12 : 1e-5;
    compare(name + " vs CPU kernel", cuda,
            eval(&loom::ops::focal_contrastive_loss, logits_cpu, targets_cpu, alpha, gamma, normalizer), tol);
    // float64 reference on the same inputs (in float32 the literal formula cancels for large positive x).
    compare(
        name + " vs reference", cuda,
        eval(&loom::ops::focal_contrastive_loss_reference, logits.to(at::kDouble), targets, alpha, gamma, normalizer),
        tol);
  } else {
    // Reduced precision: the same rounded inputs through the float64 reference; bf16 keeps ~3 digits.
    compare(name + " vs float64 reference", cuda,
            eval(&loom::ops::focal_contrastive_loss_reference, logits_cpu.to(at::kDouble), targets_cpu, alpha, gamma,
                 normalizer),
            dtype == at::kBFloat16 ? 1e-2 : 2e-3);
  }
}

void check_determinism() {
  const at::Tensor logits = torch::randn({4096, 4096}, torch::device(torch::kCUDA)) * 4;
  const at::Tensor targets = torch::arange(4096, torch::device(torch::kCUDA).dtype(at::kLong));
  const LossAndGrad a = eval(&loom::ops::focal_contrastive_loss, logits, targets, 0.5, 1.0, 4096.0);
  const LossAndGrad b = eval(&loom::ops::focal_contrastive_loss, logits, targets, 0.5, 1.0, 4096.0);
  check(torch::equal(a.loss, b.loss) && torch::equal(a.grad, b.grad), "4096x4096: repeated runs differ");
}

void check_errors() {
  const at::Tensor x = torch::randn({4, 5}, torch::device(torch::kCUDA));
  bool threw = false;
  try {
    loom::ops::focal_contrastive_loss(x, torch::arange(4, at::kLong));  // targets on the CPU
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
  for (int64_t B : {1, 4, 7, 130, 1000, 4096}) {
    for (auto dtype : {at::kDouble, at::kFloat, at::kBFloat16}) {
      run_case(B, B, true, dtype, 0.5, 1.0, std::nullopt, 4.0);
      run_case(B, B, true, dtype, 0.25, 2.0, static_cast<double>(B), 4.0);
    }
  }
  for (double gamma : {0.0, 0.5}) {
    run_case(37, 1001, false, at::kDouble, 0.9, gamma, 3.0, 4.0);
    run_case(513, 3, false, at::kFloat, 0.9, gamma, std::nullopt, 4.0);
  }
  run_case(64, 64, true, at::kDouble, 0.25, 2.0, std::nullopt, 50.0);  // large |logits| stay finite
  run_case(64, 64, true, at::kHalf, 0.5, 1.0, 64.0, 4.0);
  check_determinism();
  check_errors();
  torch::cuda::synchronize();
  std::printf("%s: %d checks, %d failed\n", failures == 0 ? "PASS" : "FAIL", checks, failures);
  return failures == 0 ? 0 : 1;
}

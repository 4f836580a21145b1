// The CPU kernel's two builds (default flags and AVX2 + FMA), called explicitly: each matches the reference,
// is independent of the thread count, and the two agree with each other.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "ops/cpu_capability.h"
#include "ops/focal_contrastive.h"
#include "ops/focal_contrastive_cpu.h"
#include "support/focal_contrastive_check.h"

namespace {

using loom::test::rel_err;

using loom::ops::CpuCapability;

struct LossAndGrad {
  at::Tensor loss, grad;
};

LossAndGrad run(CpuCapability capability, const at::Tensor& logits, const at::Tensor& targets, double gamma) {
  const double normalizer = static_cast<double>(logits.size(0));
  const at::Tensor loss =
      loom::ops::focal_contrastive_forward_cpu(logits, targets, 0.25, gamma, normalizer, capability);
  const at::Tensor grad = loom::ops::focal_contrastive_backward_cpu(at::ones({}, logits.options()), logits, targets,
                                                                    0.25, gamma, normalizer, capability);
  return {loss, grad};
}

std::vector<CpuCapability> supported() {
  std::vector<CpuCapability> out{CpuCapability::kDefault};
  if (loom::ops::cpu_supports(CpuCapability::kAvx2)) out.push_back(CpuCapability::kAvx2);
  return out;
}

}  // namespace

TEST_CASE("focal_contrastive_loss CPU builds: each matches the reference and the other", "[ops][focal_contrastive]") {
  torch::manual_seed(0);
  for (at::ScalarType dtype : {at::kFloat, at::kDouble}) {
    const double tol = dtype == at::kFloat ? 1e-5 : 1e-12;
    for (int64_t B : {1, 7, 130}) {
      const at::Tensor logits = torch::randn({B, B}, at::TensorOptions().dtype(dtype)) * 4;
      const at::Tensor targets = torch::arange(B, at::kLong);
      for (double gamma : {0.0, 1.0, 2.0, 1.5}) {
        at::Tensor x = logits.to(at::kDouble).requires_grad_(true);
        const at::Tensor want_loss =
            loom::ops::focal_contrastive_loss_reference(x, targets, 0.25, gamma, static_cast<double>(B));
        const at::Tensor want_grad = torch::autograd::grad({want_loss}, {x})[0];
        const LossAndGrad fallback = run(CpuCapability::kDefault, logits, targets, gamma);
        for (CpuCapability capability : supported()) {
          INFO("dtype " << dtype << " B " << B << " gamma " << gamma << " avx2 "
                        << (capability == CpuCapability::kAvx2));
          const LossAndGrad got = run(capability, logits, targets, gamma);
          CHECK(rel_err(got.loss, want_loss.detach()) <= tol);
          CHECK(rel_err(got.grad, want_grad) <= tol);
          CHECK(rel_err(got.loss, fallback.loss) <= tol);
          CHECK(rel_err(got.grad, fallback.grad) <= tol);
        }
      }
    }
  }
}

TEST_CASE("focal_contrastive_loss CPU builds: results do not depend on the thread count", "[ops][focal_contrastive]") {
  torch::manual_seed(1);
  const at::Tensor logits = torch::randn({300, 300}) * 4;
  const at::Tensor targets = torch::randint(300, {300}, at::kLong);
  const int saved = at::get_num_threads();
  for (CpuCapability capability : supported()) {
    at::set_num_threads(1);
    const LossAndGrad one = run(capability, logits, targets, 1.5);
    at::set_num_threads(2);
    const LossAndGrad two = run(capability, logits, targets, 1.5);
    CHECK(torch::equal(one.loss, two.loss));
    CHECK(torch::equal(one.grad, two.grad));
  }
  at::set_num_threads(saved);
}

TEST_CASE("focal_contrastive_loss CPU builds: ATEN_CPU_CAPABILITY=default selects the fallback",
          "[ops][focal_contrastive]") {
  // cpu_capability() reads the variable once per process, so only check consistency with it here.
  const char* env = std::getenv("ATEN_CPU_CAPABILITY");
  if (env != nullptr && std::string(env) == "default") {
    CHECK(loom::ops::cpu_capability() == CpuCapability::kDefault);
  } else {
    CHECK((loom::ops::cpu_capability() == CpuCapability::kAvx2) == loom::ops::cpu_supports(CpuCapability::kAvx2));
  }
}

// The CPU kernel's two builds (default flags and AVX2 + FMA), called explicitly: each matches the reference,
// is independent of the thread count, and the two agree; and the kernels run at::parallel_for on OpenMP
// threads of the torch wheel's one libgomp.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <array>
#include <fstream>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "ops/cpu_capability.h"
#include "ops/perceptual_distance.h"
#include "ops/perceptual_distance_cpu.h"
#include "support/gradient_check.h"

namespace {

using loom::ops::CpuCapability;
using loom::test::relative_error;

struct Outputs {
  at::Tensor d, f0, f1, weight;
};

Outputs run(CpuCapability capability, const at::Tensor& f0, const at::Tensor& f1, const at::Tensor& w,
            const at::Tensor& up) {
  const at::Tensor d = loom::ops::perceptual_distance_forward_cpu(f0, f1, w, 1e-10, capability);
  const auto [g0, g1, gw] =
      loom::ops::perceptual_distance_backward_cpu(up, f0, f1, w, 1e-10, {true, true, true}, capability);
  return {d, g0, g1, gw};
}

std::vector<CpuCapability> supported() {
  std::vector<CpuCapability> out{CpuCapability::kDefault};
  if (loom::ops::cpu_supports(CpuCapability::kAvx2)) out.push_back(CpuCapability::kAvx2);
  return out;
}

int parallel_for_threads(CpuCapability capability, int64_t tasks) {
  return capability == CpuCapability::kAvx2 ? loom::ops::AVX2::parallel_for_threads(tasks)
                                            : loom::ops::DEFAULT::parallel_for_threads(tasks);
}

// Restores the intra-op thread count on scope exit.
struct ThreadCount {
  int saved = at::get_num_threads();
  ~ThreadCount() { at::set_num_threads(saved); }
};

}  // namespace

TEST_CASE("perceptual_distance CPU builds: each matches the reference and the other", "[ops][perceptual_distance]") {
  torch::manual_seed(0);
  for (at::ScalarType dtype : {at::kFloat, at::kDouble}) {
    const double tol = dtype == at::kFloat ? 1e-5 : 1e-10;
    for (const auto& [N, C, H, W] :
         std::vector<std::array<int64_t, 4>>{{2, 3, 7, 5}, {3, 64, 37, 29}, {1, 512, 13, 11}, {2, 1, 9, 9}}) {
      const auto opts = at::TensorOptions().dtype(dtype);
      const at::Tensor f0 = torch::randn({N, C, H, W}, opts), f1 = torch::randn({N, C, H, W}, opts);
      const at::Tensor w = torch::rand({C}, opts), up = torch::rand({N}, opts) + 0.5;
      std::vector<at::Tensor> leaves{f0.to(at::kDouble).requires_grad_(true), f1.to(at::kDouble).requires_grad_(true),
                                     w.to(at::kDouble).requires_grad_(true)};
      const at::Tensor want_d = loom::ops::perceptual_distance_reference(leaves[0], leaves[1], leaves[2]);
      const auto want = torch::autograd::grad({want_d}, leaves, {up.to(at::kDouble)});
      const Outputs fallback = run(CpuCapability::kDefault, f0, f1, w, up);
      for (CpuCapability capability : supported()) {
        INFO("dtype " << dtype << " shape " << f0.sizes() << " avx2 " << (capability == CpuCapability::kAvx2));
        const Outputs got = run(capability, f0, f1, w, up);
        CHECK(relative_error(got.d, want_d) <= tol);
        CHECK(relative_error(got.weight, want[2]) <= tol);
        CHECK(relative_error(got.d, fallback.d) <= tol);
        CHECK(relative_error(got.weight, fallback.weight) <= tol);
        if (C > 1) {  // C = 1: the feature gradients are rounding noise (see test_perceptual_distance.cpp)
          CHECK(relative_error(got.f0, want[0]) <= tol);
          CHECK(relative_error(got.f1, want[1]) <= tol);
          CHECK(relative_error(got.f0, fallback.f0) <= tol);
          CHECK(relative_error(got.f1, fallback.f1) <= tol);
        }
      }
    }
  }
}

TEST_CASE("perceptual_distance CPU builds: results do not depend on the thread count", "[ops][perceptual_distance]") {
  torch::manual_seed(1);
  const at::Tensor f0 = torch::randn({4, 64, 40, 40}), f1 = torch::randn({4, 64, 40, 40});
  const at::Tensor w = torch::rand({64}), up = torch::rand({4});
  const ThreadCount restore;
  for (CpuCapability capability : supported()) {
    at::set_num_threads(1);
    const Outputs one = run(capability, f0, f1, w, up);
    at::set_num_threads(2);
    const Outputs two = run(capability, f0, f1, w, up);
    CHECK(torch::equal(one.d, two.d));
    CHECK(torch::equal(one.f0, two.f0));
    CHECK(torch::equal(one.f1, two.f1));
    CHECK(torch::equal(one.weight, two.weight));
  }
}

TEST_CASE("loom_ops kernels run at::parallel_for on OpenMP threads", "[ops][perceptual_distance]") {
  // The kernel builds (every *_kernel.cpp, the focal loss's too) are compiled with -fopenmp; without it
  // ATen's inline parallel_for runs on the calling thread only.
  const ThreadCount restore;
  for (CpuCapability capability : supported()) {
    INFO("avx2 " << (capability == CpuCapability::kAvx2));
    at::set_num_threads(2);
    CHECK(parallel_for_threads(capability, 64) == 2);
    at::set_num_threads(1);
    CHECK(parallel_for_threads(capability, 64) == 1);
  }
  // One OpenMP runtime in the process: the wheel's libgomp, which libtorch_cpu loads too.
  std::ifstream maps("/proc/self/maps");
  std::set<std::string> runtimes;
  for (std::string line; std::getline(maps, line);) {
    const auto slash = line.find('/');
    if (slash != std::string::npos && line.find("libgomp", slash) != std::string::npos) {
      runtimes.insert(line.substr(slash));
    }
  }
  INFO("libgomp mappings from " << runtimes.size() << " files");
  REQUIRE(runtimes.size() == 1);
  CHECK(runtimes.begin()->find("/torch/lib/") != std::string::npos);
}

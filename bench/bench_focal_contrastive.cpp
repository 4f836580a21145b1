// Forward + backward time of loom::focal_contrastive_loss vs its plain-ATen reference composition, on
// square BxB float32 logits with targets = arange(B) (the contrastive case). Prints medians; never asserts.
#include <ATen/cuda/CUDAContext.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <vector>

#include "ops/focal_contrastive.h"

namespace {

using LossFn = at::Tensor (*)(const at::Tensor&, const at::Tensor&, double, double, std::optional<double>);

// Median seconds of one forward + backward; repeats until ~budget seconds or max_reps have been spent.
double median_seconds(LossFn fn, const at::Tensor& logits, const at::Tensor& targets, double budget, int max_reps) {
  const bool cuda = logits.is_cuda();
  auto once = [&] {
    at::Tensor loss = fn(logits, targets, 0.5, 1.0, static_cast<double>(logits.size(0)));
    torch::autograd::grad({loss}, {logits});
    if (cuda) torch::cuda::synchronize();
  };
  once();  // warm-up: allocator, lazy initialisation
  std::vector<double> times;
  double spent = 0.0;
  while (static_cast<int>(times.size()) < max_reps && (times.size() < 3 || spent < budget)) {
    const auto start = std::chrono::steady_clock::now();
    once();
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    spent += times.back();
  }
  std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
  return times[times.size() / 2];
}

void bench(const c10::Device& device, double budget, int max_reps) {
  std::printf("%-6s %6s %14s %16s %8s\n", "device", "B", "kernel ms", "reference ms", "speedup");
  for (int64_t B : {256, 1024, 4096}) {
    const auto opts = torch::TensorOptions().device(device);
    const at::Tensor logits = (torch::randn({B, B}, opts) * 4).requires_grad_(true);
    const at::Tensor targets = torch::arange(B, opts.dtype(at::kLong));
    const double kernel = median_seconds(&loom::ops::focal_contrastive_loss, logits, targets, budget, max_reps);
    const double reference =
        median_seconds(&loom::ops::focal_contrastive_loss_reference, logits, targets, budget, max_reps);
    std::printf("%-6s %6lld %14.3f %16.3f %7.2fx\n", device.is_cuda() ? "cuda" : "cpu", static_cast<long long>(B),
                kernel * 1e3, reference * 1e3, reference / kernel);
  }
}

}  // namespace

int main() {
  torch::manual_seed(0);
  std::printf("focal_contrastive_loss forward+backward, float32, BxB logits, targets = arange(B), median\n");
  std::printf("CPU threads: %d\n", at::get_num_threads());
  bench(torch::kCPU, 3.0, 200);
  if (torch::cuda::is_available()) {
    std::printf("CUDA device: %s\n", at::cuda::getCurrentDeviceProperties()->name);
    bench(torch::kCUDA, 1.0, 500);
  }
  return 0;
}

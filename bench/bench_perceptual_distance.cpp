// Forward + backward time and peak memory of loom::perceptual_distance vs its plain-ATen reference, float32,
// at the VGG16 LPIPS taps of 256×256 images, batch 8 (f [8,64,256,256], [8,128,128,128], [8,256,64,64],
// [8,512,32,32], [8,512,16,16]): per tap and all five in one loss (an LPIPS call), with the gradient to f0
// only (f1 detached: the distillation case) and to both. Prints medians; never asserts.
//
// CPU peak memory is measured for real: each CPU variant runs in fresh child processes (this program with
// --child ...), one timing it and one reporting how far its peak resident set (getrusage ru_maxrss)
// rose above its resident set once the features were allocated and touched, i.e. what forward + backward
// add, the gradients included. The memory child fixes malloc's mmap threshold at 1 MiB, so every tensor
// block of 1 MiB or more is mapped on allocation and unmapped on free, and the resident set follows the
// live tensors (glibc's default threshold adapts up to 32 MiB, and freed heap blocks stay resident).
// CUDA (when present): the caching allocator's peak allocated bytes over the same base.
//
// Usage: bench_perceptual_distance [--cuda-only] [CPU thread counts...]   (default: 1 2)
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <malloc.h>
#include <sys/resource.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "ops/perceptual_distance.h"

namespace {

using DistanceFn = at::Tensor (*)(const at::Tensor&, const at::Tensor&, const at::Tensor&, double);

constexpr std::array<std::array<int64_t, 4>, 5> kTaps = {
    {{8, 64, 256, 256}, {8, 128, 128, 128}, {8, 256, 64, 64}, {8, 512, 32, 32}, {8, 512, 16, 16}}};
constexpr int kAllTaps = -1;

struct Variant {
  bool fused;
  bool grad_f1;
  int tap;  // index into kTaps, or kAllTaps
};

struct Features {
  at::Tensor f0, f1, weight;
};

// The variant's features, filled in place (no temporaries); `side` overrides H = W (for warming up).
std::vector<Features> make_features(const Variant& v, const c10::Device& device, int64_t side = 0) {
  std::vector<Features> out;
  for (int t = 0; t < static_cast<int>(kTaps.size()); ++t) {
    if (v.tap != kAllTaps && v.tap != t) continue;
    const auto [N, C, H, W] = kTaps[t];
    const std::vector<int64_t> shape{N, C, side > 0 ? side : H, side > 0 ? side : W};
    const auto opts = at::TensorOptions().device(device);
    out.push_back(
        {at::empty(shape, opts).normal_(), at::empty(shape, opts).normal_(), at::empty({C}, opts).uniform_()});
    out.back().f0.requires_grad_(true);
    out.back().f1.requires_grad_(v.grad_f1);
  }
  return out;
}

// Seconds of one forward + backward of the summed distances; the gradients are dropped on return.
double once(const Variant& v, const std::vector<Features>& taps) {
  const DistanceFn fn = v.fused ? &loom::ops::perceptual_distance : &loom::ops::perceptual_distance_reference;
  const bool cuda = taps.front().f0.is_cuda();
  const auto start = std::chrono::steady_clock::now();
  at::Tensor loss;
  std::vector<at::Tensor> inputs;
  for (const Features& t : taps) {
    const at::Tensor d = fn(t.f0, t.f1, t.weight, 1e-10).sum();
    loss = loss.defined() ? loss + d : d;
    inputs.push_back(t.f0);
    if (v.grad_f1) inputs.push_back(t.f1);
  }
  torch::autograd::grad({loss}, inputs);
  if (cuda) torch::cuda::synchronize();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Median seconds over at least 3 runs and about `budget` seconds (at most max_reps), after a warm-up run.
double median_seconds(const Variant& v, const std::vector<Features>& taps, double budget, int max_reps) {
  once(v, taps);
  std::vector<double> times;
  double spent = 0.0;
  while (static_cast<int>(times.size()) < max_reps && (times.size() < 3 || spent < budget)) {
    times.push_back(once(v, taps));
    spent += times.back();
  }
  std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
  return times[times.size() / 2];
}

int64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

int64_t peak_resident_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<int64_t>(usage.ru_maxrss) * 1024;
}

// The children: one CPU variant; print "TIME median_seconds" or "PEAK peak_growth_bytes".
int run_child(const Variant& v, int threads, bool memory) {
  if (memory) mallopt(M_MMAP_THRESHOLD, 1 << 20);
  at::set_num_threads(threads);
  once(v, make_features(v, torch::kCPU, 8));  // lazy initialisation: autograd engine, OpenMP threads
  const std::vector<Features> taps = make_features(v, torch::kCPU);
  if (!memory) {
    std::printf("TIME %.9f\n", median_seconds(v, taps, 2.0, 15));
    return 0;
  }
  const int64_t base = resident_bytes();
  once(v, taps);
  once(v, taps);
  std::printf("PEAK %lld\n", static_cast<long long>(peak_resident_bytes() - base));
  return 0;
}

struct Measurement {
  double seconds = 0.0;
  double mib = 0.0;
};

// The last line of `command`'s output that starts with `key`, parsed as a number (-1 when there is none).
double child_value(const std::string& command, const char* key) {
  FILE* pipe = popen(command.c_str(), "r");
  double value = -1.0;
  if (pipe == nullptr) return value;
  char line[256];
  const std::string format = std::string(key) + " %lf";
  while (std::fgets(line, sizeof line, pipe) != nullptr) std::sscanf(line, format.c_str(), &value);
  pclose(pipe);
  return value;
}

Measurement measure_cpu(const std::string& self, const Variant& v, int threads) {
  const std::string command = self + " --child " + (v.fused ? "1 " : "0 ") + (v.grad_f1 ? "1 " : "0 ") +
                              std::to_string(v.tap) + " " + std::to_string(threads);
  return {child_value(command + " time", "TIME"), child_value(command + " memory", "PEAK") / 1048576.0};
}

Measurement measure_cuda(const Variant& v) {
  const std::vector<Features> taps = make_features(v, torch::kCUDA);
  once(v, taps);
  const c10::DeviceIndex device = at::cuda::current_device();
  namespace allocator = c10::cuda::CUDACachingAllocator;
  constexpr auto kAggregate = static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE);
  const int64_t base = allocator::getDeviceStats(device).allocated_bytes[kAggregate].current;
  allocator::resetPeakStats(device);
  const double seconds = median_seconds(v, taps, 1.0, 200);
  const int64_t peak = allocator::getDeviceStats(device).allocated_bytes[kAggregate].peak;
  return {seconds, static_cast<double>(peak - base) / 1048576.0};
}

std::string tap_name(int tap) {
  if (tap == kAllTaps) return "all five";
  const auto& s = kTaps[tap];
  return std::to_string(s[0]) + "x" + std::to_string(s[1]) + "x" + std::to_string(s[2]) + "x" + std::to_string(s[3]);
}

template <typename Measure>
void table(const char* title, const Measure& measure) {
  std::printf("\n%s\n%-16s %-5s %10s %10s %7s %10s %10s %7s\n", title, "features", "grad", "fused ms", "ATen ms",
              "speedup", "fused MiB", "ATen MiB", "ratio");
  std::vector<int> taps{kAllTaps};
  for (int t = 0; t < static_cast<int>(kTaps.size()); ++t) taps.push_back(t);
  for (int tap : taps) {
    for (bool grad_f1 : {false, true}) {
      const Measurement fused = measure(Variant{true, grad_f1, tap});
      const Measurement reference = measure(Variant{false, grad_f1, tap});
      std::printf("%-16s %-5s %10.2f %10.2f %6.2fx %10.1f %10.1f %6.2fx\n", tap_name(tap).c_str(),
                  grad_f1 ? "both" : "f0", fused.seconds * 1e3, reference.seconds * 1e3,
                  reference.seconds / fused.seconds, fused.mib, reference.mib, reference.mib / fused.mib);
      std::fflush(stdout);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  torch::manual_seed(0);
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 6 && args[0] == "--child") {
    return run_child(Variant{args[1] == "1", args[2] == "1", std::stoi(args[3])}, std::stoi(args[4]),
                     args[5] == "memory");
  }
  const bool cuda_only = !args.empty() && args[0] == "--cuda-only";
  std::vector<int> threads;
  for (size_t i = cuda_only ? 1 : 0; i < args.size(); ++i) threads.push_back(std::stoi(args[i]));
  if (threads.empty()) threads = {1, 2};
  std::printf(
      "perceptual_distance forward+backward, float32, VGG16 LPIPS taps of 256x256 images, batch 8, median;\n"
      "memory: peak growth over the features (CPU: child-process ru_maxrss; CUDA: allocator peak)\n");
  if (!cuda_only) {
    const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
    for (int t : threads) {
      const std::string title = "CPU, " + std::to_string(t) + " thread" + (t == 1 ? "" : "s");
      table(title.c_str(), [&](const Variant& v) { return measure_cpu(self, v, t); });
    }
  }
  if (torch::cuda::is_available()) {
    const std::string title = std::string("CUDA: ") + at::cuda::getCurrentDeviceProperties()->name;
    table(title.c_str(), [](const Variant& v) { return measure_cuda(v); });
  }
  return 0;
}

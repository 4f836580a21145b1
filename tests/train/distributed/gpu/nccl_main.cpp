// The NCCL path of the process group on real GPUs; exits 77 (skipped) without CUDA. With one GPU it
// checks a one-rank NCCL group; with two or more it starts itself as two ranks (torchrun-style
// environment on 127.0.0.1) on cuda:0 and cuda:1. Each rank checks collectives on CUDA tensors, the
// gradient reducer and gather-with-grad against values it can compute alone.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/torch.h>

#include "core/text/cat.h"
#include "support/test_env.h"
#include "train/distributed/all_gather.h"
#include "train/distributed/gradient_reducer.h"
#include "train/distributed/process_group.h"

namespace {

using loom::cat;

int fail(const std::string& what) {
  std::printf("FAILED: %s\n", what.c_str());
  return 1;
}

int run_rank() {
  auto env = loom::detect_launch_environment();
  loom::DistributedOptions options;
  options.backend = "nccl";
  options.timeout_seconds = 60;
  auto group = loom::ProcessGroup::create(env, options);
  const int64_t r = group->rank(), w = group->world_size();
  const torch::Device device(torch::kCUDA, static_cast<c10::DeviceIndex>(env.local_rank));
  if (group->backend() != "nccl") return fail(cat("backend is ", group->backend()));

  std::vector<at::Tensor> t{torch::full({1000}, static_cast<float>(r + 1), device)};
  group->all_reduce_sum(t);
  if (!t[0].cpu().equal(torch::full({1000}, static_cast<float>(w * (w + 1) / 2)))) return fail("all_reduce");
  at::Tensor gathered = group->all_gather(torch::full({2, 3}, static_cast<float>(r), device));
  if (gathered.size(0) != 2 * w || gathered[2 * w - 1][0].item<float>() != static_cast<float>(w - 1))
    return fail("all_gather");
  std::vector<at::Tensor> b{torch::full({4}, static_cast<float>(r + 7), device)};
  group->broadcast(b, 0);
  if (b[0][0].item<float>() != 7.0f) return fail("broadcast");
  group->barrier();

  // Each rank's gradient of sum(x_r · weight) averaged: the mean of the ranks' inputs.
  torch::nn::Linear linear(3, 1);
  linear->to(device);
  loom::GradientReducer reducer(group, linear->parameters(), 1 << 20);
  reducer.prepare(true);
  linear->forward(torch::full({1, 3}, static_cast<float>(r + 1), device)).sum().backward();
  reducer.finish();
  const float mean = static_cast<float>(w + 1) / 2.0f;
  if (!linear->weight.grad().cpu().allclose(torch::full({1, 3}, mean))) return fail("gradient reducer");

  at::Tensor local = torch::full({2, 2}, static_cast<float>(r + 1), device).requires_grad_(true);
  loom::all_gather_with_grad(*group, local).sum().backward();
  if (!local.grad().cpu().allclose(torch::full({2, 2}, static_cast<float>(w)))) return fail("all_gather_with_grad");
  std::printf("rank %lld of %lld: NCCL checks passed\n", static_cast<long long>(r), static_cast<long long>(w));
  return 0;
}

}  // namespace

int main(int, char** argv) {
  const auto& cuda = at::detail::getCUDAHooks();
  if (!cuda.hasCUDA()) {
    std::printf("skipped: no CUDA device\n");
    return 77;
  }
  if (std::getenv("RANK") || cuda.deviceCount() < 2) return run_rank();
  const int port = loom::free_loopback_port();
  pid_t pids[2];
  for (int r = 0; r < 2; ++r)
    pids[r] = loom::test::spawn(
        argv[0], {},
        {"MASTER_ADDR=127.0.0.1", cat("MASTER_PORT=", port), "WORLD_SIZE=2", cat("RANK=", r), cat("LOCAL_RANK=", r)});
  int result = 0;
  for (pid_t pid : pids) {
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) result = 1;
  }
  return result;
}

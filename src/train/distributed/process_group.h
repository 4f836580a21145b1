#pragma once
// Data-parallel communication: where this process sits in the job (from torchrun's or SLURM's
// environment) and a process group over LibTorch's c10d (Gloo on CPUs, NCCL on GPUs). The c10d and
// gloo headers stay inside process_group.cpp: each TU that parses them costs seconds, and the Gloo
// header only compiles against the declaration-only stand-ins in third_party/gloo_shim, whose layout
// rule (README there) is easiest to keep with one user.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/config/config_schema.h"
#include "core/error.h"

namespace loom {

// A collective failed: a peer died, hung past the timeout or ran a different collective. The message
// names this rank, the operation and the timeout.
struct DistributedError : UserError {
  using UserError::UserError;
};

struct DistributedOptions {
  std::string backend = "auto";          // auto (NCCL when CUDA is available, else Gloo) | gloo | nccl
  double timeout_seconds = 300;          // how long a collective may wait for its peers
  std::string gloo_interface_host = "";  // address Gloo binds to; default: MASTER_ADDR or 127.0.0.1
  // What happens to module buffers (BatchNorm statistics, StyleGAN2's w_avg) after the start, where
  // parameters are broadcast from rank 0: "broadcast" copies rank 0's after every step (DDP's
  // default, so every rank evaluates and checkpoints the same model), "local" lets each rank keep its own.
  std::string buffers = "broadcast";

  template <class V>
  void visit(V& v) {
    v("backend", backend,
      {.help = "auto (NCCL on GPUs, Gloo otherwise), gloo or nccl", .choices = {"auto", "gloo", "nccl"}});
    v("timeout_seconds", timeout_seconds,
      {.help = "seconds a collective waits for the other ranks before failing", .min = 0.001});
    v("gloo_interface_host", gloo_interface_host,
      {.help = "address Gloo binds to (default: MASTER_ADDR, or 127.0.0.1)"});
    v("buffers", buffers,
      {.help = "module buffers after each step: broadcast from rank 0, or keep local",
       .choices = {"broadcast", "local"}});
  }
};

struct LaunchEnvironment {
  int64_t rank = 0, local_rank = 0, world_size = 1;
  std::string master_addr = "127.0.0.1";
  int port = 29500;
  int restart_count = 0;          // TORCHELASTIC_RESTART_COUNT: keys of each attempt live under their own prefix
  bool agent_store = false;       // torchrun's agent hosts the TCPStore; every rank is a client
  std::string source = "single";  // "torchrun", "slurm" or "single"
};

// torchrun variables (RANK, WORLD_SIZE, ...) first, then SLURM's (SLURM_PROCID, SLURM_NTASKS, first host
// of SLURM_JOB_NODELIST; MASTER_ADDR / MASTER_PORT override), else a single process. Malformed values
// throw UserError naming the variable.
LaunchEnvironment detect_launch_environment();

// A TCP port on 127.0.0.1 that nobody listens on right now (the kernel picks it), for jobs started on
// one machine by tests and benchmarks.
int free_loopback_port();

// Expands a SLURM host list: "node[01-03,07],gpu5" -> node01 node02 node03 node07 gpu5.
std::vector<std::string> expand_slurm_nodelist(const std::string& nodelist);

// A pending asynchronous collective.
class Work {
 public:
  struct Impl;
  explicit Work(std::unique_ptr<Impl> impl);
  Work(Work&&) noexcept;
  Work& operator=(Work&&) noexcept;
  ~Work();
  // Blocks until the collective is done; throws DistributedError on failure.
  void wait();

 private:
  std::unique_ptr<Impl> impl_;
};

class ProcessGroup {
 public:
  // Connects to the other ranks (blocking until all have joined or the timeout expires). Rank 0 hosts
  // the TCPStore unless torchrun's agent does. On CUDA (NCCL) it also selects device local_rank.
  static std::shared_ptr<ProcessGroup> create(const LaunchEnvironment& env, const DistributedOptions& options);
  ~ProcessGroup();

  int64_t rank() const;
  int64_t world_size() const;
  std::string backend() const;  // "gloo" or "nccl"

  // Sums each tensor over all ranks, in place.
  void all_reduce_sum(std::vector<at::Tensor>& tensors);
  Work all_reduce_sum_async(std::vector<at::Tensor>& tensors);
  // Every rank's `local` concatenated along dim 0 in rank order; all ranks must pass the same shape.
  at::Tensor all_gather(const at::Tensor& local);
  // Overwrites the tensors of every rank with those of `root`.
  void broadcast(std::vector<at::Tensor>& tensors, int root);
  void barrier();

 private:
  struct Impl;
  explicit ProcessGroup(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace loom

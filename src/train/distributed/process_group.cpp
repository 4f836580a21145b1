// The only TU that sees c10d and (through third_party/gloo_shim) gloo: keep the shim's layout rule, i.e.
// hold c10d::ProcessGroupGloo and gloo types only through pointers and never name GlooStore/AsyncWork.
#include "train/distributed/process_group.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ATen/ATen.h>
#include <torch/cuda.h>
#include <torch/csrc/distributed/c10d/HashStore.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_NCCL
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <limits>

#include "core/environment.h"
#include "core/text/cat.h"
#include "core/text/join.h"

namespace loom {
namespace {

void check_rank(const LaunchEnvironment& env, const char* rank_name, const char* world_name) {
  if (env.rank >= env.world_size)
    throw UserError(
        cat("environment variable ", rank_name, "=", env.rank, " is not below ", world_name, "=", env.world_size));
}

// Expands one host-list item without top-level commas, e.g. "rack[1-2]-n[01,03]", bracket by bracket.
void expand_item(const std::string& list, const std::string& item, std::vector<std::string>& out) {
  auto malformed = [&](const std::string& why) {
    return UserError(cat("malformed SLURM host list \"", list, "\": ", why));
  };
  size_t open = item.find('[');
  if (open == std::string::npos) {
    if (item.find(']') != std::string::npos) throw malformed("']' without '['");
    if (item.empty()) throw malformed("empty host name");
    out.push_back(item);
    return;
  }
  size_t close = item.find(']', open);
  if (close == std::string::npos) throw malformed("'[' without ']'");
  std::string prefix = item.substr(0, open), ranges = item.substr(open + 1, close - open - 1),
              rest = item.substr(close + 1);
  if (ranges.empty()) throw malformed("empty '[]'");
  size_t start = 0;
  while (start <= ranges.size()) {
    size_t comma = ranges.find(',', start);
    std::string range = ranges.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    size_t dash = range.find('-');
    std::string lo = range.substr(0, dash), hi = dash == std::string::npos ? lo : range.substr(dash + 1);
    auto number = [&](const std::string& s) {
      int64_t n = 0;
      auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
      if (s.empty() || ec != std::errc() || ptr != s.data() + s.size())
        throw malformed(cat("bad range \"", range, "\""));
      return n;
    };
    int64_t a = number(lo), b = number(hi);
    if (b < a) throw malformed(cat("descending range \"", range, "\""));
    for (int64_t i = a; i <= b; ++i) {
      std::string digits = std::to_string(i);
      // SLURM keeps the zero padding of the range's first bound: node[01-10] -> node01 ... node10.
      if (digits.size() < lo.size()) digits.insert(0, lo.size() - digits.size(), '0');
      expand_item(list, prefix + digits + rest, out);
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
}

bool is_loopback(const std::string& host) { return host.starts_with("127.") || host == "localhost" || host == "::1"; }

std::string format_shape(at::IntArrayRef shape) { return cat("[", join(shape, ", "), "]"); }

}  // namespace

int free_loopback_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

std::vector<std::string> expand_slurm_nodelist(const std::string& nodelist) {
  std::vector<std::string> hosts;
  int depth = 0;
  size_t begin = 0;
  for (size_t i = 0; i <= nodelist.size(); ++i) {
    if (i == nodelist.size() || (nodelist[i] == ',' && depth == 0)) {
      expand_item(nodelist, nodelist.substr(begin, i - begin), hosts);
      begin = i + 1;
    } else if (nodelist[i] == '[') {
      ++depth;
    } else if (nodelist[i] == ']') {
      --depth;
    }
  }
  return hosts;
}

LaunchEnvironment detect_launch_environment() {
  constexpr int64_t kMaxRanks = std::numeric_limits<int32_t>::max();
  LaunchEnvironment env;
  if (env_value("RANK") || env_value("WORLD_SIZE")) {
    env.source = "torchrun";
    env.world_size = required_env_int("WORLD_SIZE", "RANK is set", 1, kMaxRanks);
    env.rank = required_env_int("RANK", "WORLD_SIZE is set", 0, kMaxRanks);
    check_rank(env, "RANK", "WORLD_SIZE");
    env.local_rank = env_int("LOCAL_RANK", env.rank, 0, kMaxRanks);
    if (const char* addr = env_value("MASTER_ADDR")) env.master_addr = addr;
    env.port = static_cast<int>(env_int("MASTER_PORT", env.port, 1, 65535));
    env.restart_count = static_cast<int>(env_int("TORCHELASTIC_RESTART_COUNT", 0, 0, kMaxRanks));
    env.agent_store = env_bool("TORCHELASTIC_USE_AGENT_STORE");
  } else if (env_value("SLURM_PROCID")) {
    env.source = "slurm";
    env.world_size = required_env_int("SLURM_NTASKS", "SLURM_PROCID is set", 1, kMaxRanks);
    env.rank = env_int("SLURM_PROCID", 0, 0, kMaxRanks);
    check_rank(env, "SLURM_PROCID", "SLURM_NTASKS");
    env.local_rank = env_int("SLURM_LOCALID", 0, 0, kMaxRanks);
    if (const char* addr = env_value("MASTER_ADDR")) {
      env.master_addr = addr;
    } else {
      const char* name = env_value("SLURM_JOB_NODELIST") ? "SLURM_JOB_NODELIST" : "SLURM_NODELIST";
      const char* list = env_value(name);
      if (!list)
        throw UserError(
            "environment variable SLURM_JOB_NODELIST is missing (needed for the master address; or set MASTER_ADDR)");
      try {
        env.master_addr = expand_slurm_nodelist(list).front();
      } catch (const UserError& e) {
        throw UserError(cat("environment variable ", name, ": ", e.what()));
      }
    }
    env.port = static_cast<int>(env_int("MASTER_PORT", env.port, 1, 65535));
  }
  return env;
}

namespace {

// What a failure message says about where it happened.
struct FailureContext {
  int64_t rank = 0, world_size = 1;
  std::string backend;
  double timeout_seconds = 0;

  DistributedError error(const std::string& operation, const std::string& what) const {
    // With two ranks the only peer that can be missing is the other one.
    std::string peer = world_size == 2 ? cat(", peer rank ", 1 - rank) : "";
    return DistributedError(cat("rank ", rank, " of ", world_size, ": ", operation, " failed (", backend, ", timeout ",
                                timeout_seconds, " s", peer,
                                "); another rank died, hung or ran a different collective: ", what));
  }

  template <class F>
  auto guard(const std::string& operation, F&& f) const {
    try {
      return f();
    } catch (const c10::Error& e) {
      throw error(operation, e.what_without_backtrace());
    } catch (const DistributedError&) {
      throw;
    } catch (const std::exception& e) {
      throw error(operation, e.what());
    }
  }
};

// c10d's tensor lists mean "one tensor per device", so several tensors travel as one flat buffer per
// dtype and device; a single contiguous tensor is reduced in place.
struct FlatGroup {
  at::Tensor buffer;
  std::vector<at::Tensor> targets;
};

std::vector<FlatGroup> flatten(const std::vector<at::Tensor>& tensors) {
  at::NoGradGuard no_grad;  // parameters are leaves that require grad; communication is not part of the graph
  std::vector<FlatGroup> groups;
  for (const auto& t : tensors) {
    auto it = std::find_if(groups.begin(), groups.end(), [&](const FlatGroup& g) {
      return g.targets[0].scalar_type() == t.scalar_type() && g.targets[0].device() == t.device();
    });
    if (it == groups.end()) it = groups.insert(groups.end(), FlatGroup{});
    it->targets.push_back(t);
  }
  for (auto& g : groups) {
    if (g.targets.size() == 1 && g.targets[0].is_contiguous()) {
      g.buffer = g.targets[0];
    } else {
      std::vector<at::Tensor> flat;
      for (const auto& t : g.targets) flat.push_back(t.reshape(-1));
      g.buffer = at::cat(flat);
    }
  }
  return groups;
}

void unflatten(const FlatGroup& g) {
  if (g.targets.size() == 1 && g.buffer.is_same(g.targets[0])) return;
  at::NoGradGuard no_grad;
  int64_t offset = 0;
  for (const auto& t : g.targets) {
    t.copy_(g.buffer.narrow(0, offset, t.numel()).view(t.sizes()));
    offset += t.numel();
  }
}

}  // namespace

struct Work::Impl {
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  std::vector<FlatGroup> groups;
  FailureContext context;
  std::string operation;
};

Work::Work(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Work::Work(Work&&) noexcept = default;
Work& Work::operator=(Work&&) noexcept = default;
Work::~Work() = default;

void Work::wait() {
  impl_->context.guard(impl_->operation, [&] {
    for (auto& w : impl_->works) w->wait();
  });
  for (const auto& g : impl_->groups) unflatten(g);
}

struct ProcessGroup::Impl {
  c10::intrusive_ptr<c10d::Backend> backend;
  FailureContext context;
};

ProcessGroup::ProcessGroup(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ProcessGroup::~ProcessGroup() = default;

std::shared_ptr<ProcessGroup> ProcessGroup::create(const LaunchEnvironment& env, const DistributedOptions& options) {
  auto impl = std::make_unique<Impl>();
  std::string backend = options.backend;
  if (backend == "auto") backend = torch::cuda::is_available() ? "nccl" : "gloo";
  if (backend != "gloo" && backend != "nccl")
    throw UserError(cat("unknown distributed backend \"", backend, "\" (auto, gloo or nccl)"));
  impl->context = {env.rank, env.world_size, backend, options.timeout_seconds};
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(options.timeout_seconds * 1000));

  impl->backend = impl->context.guard("joining the process group", [&]() -> c10::intrusive_ptr<c10d::Backend> {
    c10::intrusive_ptr<c10d::Store> store;
    if (env.world_size == 1 && !env.agent_store) {
      store = c10::make_intrusive<c10d::HashStore>();  // no peers: no port to claim
    } else {
      c10d::TCPStoreOptions so;
      so.port = static_cast<uint16_t>(env.port);
      so.isServer = !env.agent_store && env.rank == 0;
      if (!env.agent_store) so.numWorkers = static_cast<size_t>(env.world_size);
      so.waitWorkers = false;  // the backend's own rendezvous waits for everyone
      so.timeout = timeout;
      try {
        store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, so);
      } catch (const std::exception& e) {
        throw std::runtime_error(cat(so.isServer ? "hosting" : "connecting to", " the TCPStore at ", env.master_addr,
                                     ":", env.port, ": ", e.what()));
      }
      // torchrun's agent store is shared by all restart attempts; Python's init_process_group uses the
      // same prefix, so a restarted attempt never reads keys of the previous one.
      if (env.agent_store)
        store = c10::make_intrusive<c10d::PrefixStore>(cat("/worker/attempt_", env.restart_count), store);
    }
    // One namespace per process group, so that later groups (or the agent's own keys) cannot collide.
    store = c10::make_intrusive<c10d::PrefixStore>("loom/default_pg", store);

    if (backend == "nccl") {
#ifdef USE_C10D_NCCL
      c10::cuda::set_device(static_cast<c10::DeviceIndex>(env.local_rank));
      auto o = c10d::ProcessGroupNCCL::Options::create();
      o->timeout = timeout;
      return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, static_cast<int>(env.rank),
                                                         static_cast<int>(env.world_size), o);
#else
      throw UserError("this LibTorch was built without NCCL; use distributed.backend=gloo");
#endif
    }
    auto o = c10d::ProcessGroupGloo::Options::create(timeout);
    // On one machine MASTER_ADDR is loopback and binding there is safe; across machines every rank must
    // bind to its own address, which gloo finds from this host's name.
    const std::string& host = !options.gloo_interface_host.empty() ? options.gloo_interface_host : env.master_addr;
    if (!options.gloo_interface_host.empty() || is_loopback(host))
      o->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(host));
    else
      o->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    return c10::make_intrusive<c10d::ProcessGroupGloo>(store, static_cast<int>(env.rank),
                                                       static_cast<int>(env.world_size), o);
  });
  return std::shared_ptr<ProcessGroup>(new ProcessGroup(std::move(impl)));
}

int64_t ProcessGroup::rank() const { return impl_->context.rank; }
int64_t ProcessGroup::world_size() const { return impl_->context.world_size; }
std::string ProcessGroup::backend() const { return impl_->context.backend; }

Work ProcessGroup::all_reduce_sum_async(std::vector<at::Tensor>& tensors) {
  auto work = std::make_unique<Work::Impl>();
  work->context = impl_->context;
  work->operation = "all_reduce";
  work->groups = flatten(tensors);
  impl_->context.guard(work->operation, [&] {
    for (auto& g : work->groups) {
      std::vector<at::Tensor> one{g.buffer};
      work->works.push_back(impl_->backend->allreduce(one, c10d::AllreduceOptions{}));
    }
  });
  return Work(std::move(work));
}

void ProcessGroup::all_reduce_sum(std::vector<at::Tensor>& tensors) { all_reduce_sum_async(tensors).wait(); }

at::Tensor ProcessGroup::all_gather(const at::Tensor& local) {
  const int64_t world = impl_->context.world_size;
  auto gather = [&](const at::Tensor& input) {
    std::vector<at::Tensor> in{input.contiguous()};
    std::vector<std::vector<at::Tensor>> out(1);
    for (int64_t r = 0; r < world; ++r) out[0].push_back(at::empty_like(in[0]));
    impl_->context.guard("all_gather", [&] { impl_->backend->allgather(out, in)->wait(); });
    return out[0];
  };
  // Shapes first: mismatched sizes would otherwise corrupt or stall the data exchange. Every rank sees
  // every shape, so all of them fail together.
  constexpr int64_t kMaxDims = 8;
  TORCH_CHECK(local.dim() >= 1 && local.dim() <= kMaxDims, "all_gather needs a tensor of 1 to ", kMaxDims,
              " dimensions");
  auto shape = at::full({kMaxDims}, -1, at::kLong);
  for (int64_t d = 0; d < local.dim(); ++d) shape[d] = local.size(d);
  std::vector<at::Tensor> shapes = gather(shape.to(local.device()));
  for (int64_t r = 0; r < world; ++r)
    if (!shapes[r].cpu().equal(shape)) {
      auto other = shapes[r].cpu();
      std::vector<int64_t> dims;
      for (int64_t d = 0; d < kMaxDims && other[d].item<int64_t>() >= 0; ++d) dims.push_back(other[d].item<int64_t>());
      throw DistributedError(cat("rank ", rank(), " of ", world,
                                 ": all_gather needs equal shapes on all ranks, but rank ", r, " passed ",
                                 format_shape(dims), " and rank ", rank(), " ", format_shape(local.sizes())));
    }
  return at::cat(gather(local), 0);
}

void ProcessGroup::broadcast(std::vector<at::Tensor>& tensors, int root) {
  if (root < 0 || root >= world_size())
    throw UserError(cat("broadcast root ", root, " is not a rank of ", world_size()));
  c10d::BroadcastOptions o;
  o.rootRank = root;
  for (const auto& g : flatten(tensors)) {
    std::vector<at::Tensor> one{g.buffer};
    impl_->context.guard("broadcast", [&] { impl_->backend->broadcast(one, o)->wait(); });
    unflatten(g);
  }
}

void ProcessGroup::barrier() {
  impl_->context.guard("barrier", [&] { impl_->backend->barrier()->wait(); });
}

}  // namespace loom

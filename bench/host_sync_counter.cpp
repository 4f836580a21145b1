// Counts the host reads of tensor values (item(), bool(tensor), Scalar conversions: every call of
// aten::_local_scalar_dense, which on a GPU is a device sync) in any LibTorch program, without
// rebuilding it: LD_PRELOAD=build/lib/libloom_host_sync_counter.so build/bin/loom train ...
// At exit it prints the count to stderr. Comparing runs of N and 2N steps gives the count per step.
#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>

#include <ATen/record_function.h>

namespace {

std::atomic<long> host_reads{0};

struct HostReadCounter {
  at::CallbackHandle handle = 0;
  HostReadCounter() {
    handle = at::addGlobalCallback(
        at::RecordFunctionCallback([](const at::RecordFunction& fn) -> std::unique_ptr<at::ObserverContext> {
          if (std::strcmp(fn.name(), "aten::_local_scalar_dense") == 0) host_reads.fetch_add(1, std::memory_order_relaxed);
          return nullptr;
        }).scopes({at::RecordScope::FUNCTION}));
  }
  ~HostReadCounter() { std::fprintf(stderr, "host_sync_counter: %ld host reads (aten::_local_scalar_dense)\n", host_reads.load()); }
};

HostReadCounter counter;

}  // namespace

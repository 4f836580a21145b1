// Counts the host reads of tensor values that a program asks for (item(), bool(tensor), Scalar
// conversions: on a GPU each is a device sync) in any LibTorch program, without rebuilding it:
//   LD_PRELOAD=build/lib/libloom_host_sync_counter.so build/bin/loom train ...
// At exit it prints the count to stderr; bench/count_host_syncs turns it into a count per step.
// Only reads made outside ATen ops count: kernels that read their own CPU scalars (the fused Adam CPU
// kernel reads each parameter's step) are not syncs on any device.
#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>

#include <ATen/record_function.h>

namespace {

std::atomic<long> host_reads{0};
thread_local int op_depth = 0;

bool is_host_read(const char* name) {
  return std::strcmp(name, "aten::item") == 0 || std::strcmp(name, "aten::_local_scalar_dense") == 0 ||
         std::strcmp(name, "aten::is_nonzero") == 0;
}

struct HostReadCounter {
  at::CallbackHandle handle = 0;
  HostReadCounter() {
    handle = at::addGlobalCallback(at::RecordFunctionCallback(
                                       [](const at::RecordFunction& fn) -> std::unique_ptr<at::ObserverContext> {
                                         if (op_depth++ == 0 && is_host_read(fn.name())) host_reads.fetch_add(1);
                                         return nullptr;
                                       },
                                       [](const at::RecordFunction&, at::ObserverContext*) { --op_depth; })
                                       .scopes({at::RecordScope::FUNCTION}));
  }
  ~HostReadCounter() {
    std::fprintf(stderr, "host_sync_counter: %ld host reads (item, _local_scalar_dense, is_nonzero)\n",
                 host_reads.load());
  }
};

HostReadCounter counter;

}  // namespace

#include "data/to_device.h"

namespace loom::data {

namespace {

at::Tensor moved(const at::Tensor& t, c10::Device device, bool async) {
  if (!t.defined() || t.device() == device) return t;
  if (async && t.is_cpu() && !t.is_pinned()) return t.pin_memory().to(device, /*non_blocking=*/true);
  return t.to(device, /*non_blocking=*/async);
}

}  // namespace

Batch to_device(Batch batch, c10::Device device, bool pin) {
  // non_blocking from pageable memory is a synchronous copy anyway; only pinned memory overlaps.
  const bool async = pin && device.is_cuda();
  for (auto& [key, tensor] : batch.tensors) tensor = moved(tensor, device, async);
  for (auto& [key, list] : batch.lists)
    for (auto& tensor : list) tensor = moved(tensor, device, async);
  return batch;
}

}  // namespace loom::data

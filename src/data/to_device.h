#pragma once
// Moving a batch to the training device: its stacked tensors and its per-sample lists (text stays).
#include <c10/core/Device.h>

#include "data/sample.h"

namespace loom::data {

// The batch with every tensor on `device`. To a CUDA device with `pin`, host tensors not yet in
// page-locked memory are copied there first and the copies are asynchronous (non_blocking) on the
// current stream: the caller must not rely on the data before that stream reaches them (the trainer's
// work is queued on the same stream, so it does not). Without `pin`, or to other devices, the copies
// are synchronous. On the CPU nothing is copied.
Batch to_device(Batch batch, c10::Device device, bool pin = true);

}  // namespace loom::data

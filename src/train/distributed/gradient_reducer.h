#pragma once
// Data-parallel gradient averaging (what Python's DistributedDataParallel does, without wrapping the
// model): gradients are packed into buckets of about bucket_bytes, in reverse parameter order because
// backward produces the last layers' gradients first, and each bucket's all-reduce starts as soon as
// its last gradient has been accumulated, overlapping communication with the rest of backward.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "train/distributed/process_group.h"

namespace loom {

class GradientReducer {
 public:
  // Parameters that do not require grad are left alone. Every rank must pass the same parameters in the
  // same order. Each parameter's post-accumulate-grad hook slot is taken until destruction.
  GradientReducer(std::shared_ptr<ProcessGroup> group, std::vector<at::Tensor> parameters,
                  int64_t bucket_bytes = 25 << 20);
  ~GradientReducer();
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  // Before backward. sync=false on the non-final micro-batches of an accumulated step: their gradients
  // only accumulate locally.
  void prepare(bool sync);
  // After backward (of a sync micro-batch): waits for every bucket and leaves each gradient averaged
  // over the ranks. Parameters without a gradient on this rank take part with zeros, so all ranks run
  // the same collectives; a parameter without a gradient on every rank keeps none, as in one process.
  void finish();

  int64_t bucket_count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Copies `root`'s values into every rank's tensors (initial parameters and buffers), so all replicas
// start identical.
void broadcast_parameters(ProcessGroup& group, const std::vector<at::Tensor>& params_and_buffers, int root = 0);

}  // namespace loom

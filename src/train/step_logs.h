#pragma once
// The figures of one logging window, kept where they were computed (NVlabs' training_stats idea): each
// figure is summed on its device as it arrives, and reduce() turns all of them into means with one
// all-reduce and one host copy, once per `log_every` steps, instead of an item() per figure.
#include <cstdint>
#include <map>
#include <string>

#include <ATen/core/Tensor.h>

#include "core/metrics/metrics_writer.h"

namespace loom {

class ProcessGroup;

class StepLogs {
 public:
  // A scalar figure (any device, any floating dtype); detached and summed in float64.
  void add(const std::string& name, const at::Tensor& value);
  // Means over the window (every rank must have added the same names), reduced over the ranks of
  // `group` (null: this process alone). Clears the window.
  Scalars reduce(ProcessGroup* group);
  bool empty() const { return slots_.empty(); }

 private:
  struct Slot {
    at::Tensor sum;  // float64 scalar on the figure's device
    int64_t count = 0;
  };
  std::map<std::string, Slot> slots_;
};

}  // namespace loom

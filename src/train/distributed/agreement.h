#pragma once
// Small decisions every rank must take alike: rank 0's run folder, "does any rank want to stop (or
// saw a non-finite loss)?", and metrics averaged over ranks. Built on ProcessGroup's collectives.
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace loom {

class ProcessGroup;

// `text` as rank `root` has it, on every rank.
std::string broadcast_string(ProcessGroup& group, const std::string& text, int root = 0);

// True on every rank when `flag` is true on at least one.
bool any_rank(ProcessGroup& group, bool flag);

// Element-wise sums over ranks, in place (all ranks pass the same number of values).
void sum_over_ranks(ProcessGroup& group, std::vector<double>& values);

// The element-wise sum over ranks of a 1-D float64 tensor on any device (every rank passes the same
// length), as a CPU tensor: one collective and one host copy. Without a group: `values` on the host.
at::Tensor sum_over_ranks_on_host(ProcessGroup* group, const at::Tensor& values);

}  // namespace loom

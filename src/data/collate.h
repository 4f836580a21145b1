#pragma once
// Stacks samples into a Batch: each tensor key along a new first dimension, each ragged field by its
// policy (a list per sample, or padded and stacked with a mask), text per key in order.
#include <cstdint>
#include <vector>

#include "data/sample.h"

namespace loom::data {

// indices[i] is the dataset index of samples[i]. With pin_memory the batch's tensors are allocated in
// page-locked host memory (for asynchronous copies to a CUDA device; needs CUDA). Throws UserError
// naming the key (and the two dataset indices) when samples disagree on the keys, on a tensor's shape
// or type, or on a ragged field's policy.
Batch collate(const std::vector<Sample>& samples, std::vector<int64_t> indices, bool pin_memory = false);

}  // namespace loom::data

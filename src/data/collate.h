#pragma once
// Stacks samples into a Batch: each tensor key along a new first dimension, text per key in order.
#include <cstdint>
#include <vector>

#include "data/sample.h"

namespace loom::data {

// indices[i] is the dataset index of samples[i]. Throws UserError naming the key (and the two
// dataset indices) when samples disagree on the keys or on a tensor's shape or type.
Batch collate(const std::vector<Sample>& samples, std::vector<int64_t> indices);

}  // namespace loom::data

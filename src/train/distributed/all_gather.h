#pragma once
// Contrastive losses over the global batch (open_clip's gather_with_grad): every rank computes the loss
// on all ranks' features, and gradients flow back to the rank that produced each feature.
#include <ATen/core/Tensor.h>

#include "train/distributed/process_group.h"

namespace loom {

// Forward: every rank's `local` concatenated along dim 0 in rank order (same shape on all ranks).
// Backward: the incoming gradient is summed over ranks and this rank's rows are returned. After
// GradientReducer averages parameter gradients, training equals one process on the global batch.
// Every rank must backpropagate through the result (the backward is a collective), and `group` must
// outlive that backward.
at::Tensor all_gather_with_grad(ProcessGroup& group, const at::Tensor& local);

}  // namespace loom

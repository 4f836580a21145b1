#pragma once
// One in-order pass over an evaluation set: every sample once, the last batch kept, tensors on the
// device. Shared by the recipes' periodic evaluations, `loom eval` and `loom embed`.
#include <cstdint>
#include <functional>
#include <memory>

#include <c10/core/Device.h>

#include "data/dataset.h"
#include "data/loader.h"

namespace loom::eval {

// Loader options for such a pass (no shuffling, no repetition, the last batch kept).
data::LoaderOptions evaluation_loader_options(int64_t batch_size, int64_t workers);

struct EvalPass {
  int64_t batch_size = 256;
  int64_t workers = 2;
  uint64_t seed = 0;               // of the loader: random transforms draw as in training
  int64_t limit = 0;               // samples passed at most (0 = all); the batch that crosses it is cut
  double max_bad_fraction = 0.01;  // unreadable samples skipped before the pass stops (data::LoaderOptions)
};

// `each` gets every batch with its tensors on `device`. Returns the number of samples passed; `skipped`,
// when given, receives the number of unreadable samples left out.
int64_t for_each_eval_batch(std::shared_ptr<const data::Dataset> dataset, const EvalPass& pass, c10::Device device,
                            const std::function<void(const data::Batch&)>& each, int64_t* skipped = nullptr);

}  // namespace loom::eval

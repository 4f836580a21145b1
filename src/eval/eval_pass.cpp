#include "eval/eval_pass.h"

#include <algorithm>
#include <utility>

#include "data/to_device.h"

namespace loom::eval {

data::LoaderOptions evaluation_loader_options(int64_t batch_size, int64_t workers) {
  data::LoaderOptions options;
  options.batch_size = batch_size;
  options.workers = workers;
  options.shuffle = false;
  options.drop_last = false;
  options.repeat = false;
  return options;
}

namespace {

// The first `n` samples of a batch.
data::Batch first_samples(data::Batch batch, int64_t n) {
  for (auto& [key, tensor] : batch.tensors) tensor = tensor.narrow(0, 0, n);
  for (auto& [key, list] : batch.lists) list.resize(static_cast<size_t>(n));
  for (auto& [key, text] : batch.text) text.resize(static_cast<size_t>(n));
  batch.indices.resize(static_cast<size_t>(n));
  return batch;
}

}  // namespace

int64_t for_each_eval_batch(std::shared_ptr<const data::Dataset> dataset, const EvalPass& pass, c10::Device device,
                            const std::function<void(const data::Batch&)>& each, int64_t* skipped) {
  data::LoaderOptions options = evaluation_loader_options(pass.batch_size, pass.workers);
  options.max_bad_fraction = pass.max_bad_fraction;
  data::Loader loader(std::move(dataset), options, pass.seed);
  int64_t seen = 0;
  while (pass.limit <= 0 || seen < pass.limit) {
    auto batch = loader.next();
    if (!batch) break;
    const int64_t n = pass.limit > 0 ? std::min(batch->size(), pass.limit - seen) : batch->size();
    each(data::to_device(n < batch->size() ? first_samples(std::move(*batch), n) : std::move(*batch), device,
                         /*pin=*/false));
    seen += n;
  }
  if (skipped) *skipped = loader.bad_samples();
  return seen;
}

}  // namespace loom::eval

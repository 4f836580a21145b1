#pragma once
// Batches from a dataset: worker threads fill a bounded prefetch queue, batches come out in order.
// The order of an epoch is a deterministic shuffle of (seed, epoch), sharded by rank; the position
// (epoch, next batch) can be saved and restored for exact resume. `sampler` (data/sampler.h) can draw
// with replacement or repeat the data instead, so that a dataset smaller than one batch trains.
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>

#include "core/config/config_schema.h"
#include "data/dataset.h"
#include "data/sampler.h"

namespace loom::data {

struct LoaderOptions {
  int64_t batch_size = 32;  // per rank
  int64_t workers = 2;      // decoding threads (0 = decode on the calling thread)
  int64_t prefetch = 4;     // batches decoded ahead
  bool shuffle = true;
  std::string sampler = "permutation";
  bool drop_last = true;           // drop an incomplete final batch of an epoch
  bool repeat = true;              // endless epochs (training); false: one pass, then next() is empty
  double max_bad_fraction = 0.01;  // more unreadable samples than this fraction stops the run

  template <class V>
  void visit(V& v) {
    v("batch_size", batch_size, {.help = "samples per batch and rank", .min = 1});
    v("workers", workers, {.help = "decoding threads", .min = 0});
    v("prefetch", prefetch, {.help = "batches decoded ahead", .min = 1});
    v("shuffle", shuffle, {.help = "shuffle every epoch from (seed, epoch)"});
    v("sampler", sampler,
      {.help = "permutation: each sample once an epoch; with_replacement: uniform draws; repeat: the permutation "
               "repeated; the last two fill at least one batch on every rank (datasets smaller than a batch)",
       .choices = sampling_mode_names()});
    v("drop_last", drop_last, {.help = "drop the incomplete last batch of an epoch"});
    v("repeat", repeat, {.help = "loop over epochs forever"});
    v("max_bad_fraction", max_bad_fraction,
      {.help = "fraction of unreadable samples tolerated", .min = 0.0, .max = 1.0});
  }
};

struct LoaderPosition {
  int64_t epoch = 0;
  int64_t batch = 0;  // index of the next batch within the epoch
};

class Loader {
 public:
  Loader(std::shared_ptr<const Dataset> dataset, LoaderOptions options, uint64_t seed, int64_t rank = 0,
         int64_t world_size = 1);
  ~Loader();  // stops and joins the workers
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // The next batch; empty at the end of a non-repeating pass. Unreadable samples are left out of
  // their batch (so a batch can be smaller), logged with their path and counted; exceeding
  // max_bad_fraction throws UserError. Not thread-safe (one consumer).
  std::optional<Batch> next();

  LoaderPosition position() const;     // of the next batch next() returns
  void seek(LoaderPosition position);  // drops prefetched work and continues from there
  // Collate into page-locked host memory from now on (for asynchronous copies to a CUDA device; needs
  // CUDA). Batches already prefetched stay as they are. DevicePrefetcher turns it on for CUDA devices.
  void set_pin_memory(bool on);
  int64_t batches_per_epoch() const;
  int64_t bad_samples() const;  // skipped so far
  const Dataset& dataset() const;

 private:
  void stop_workers();

  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace loom::data

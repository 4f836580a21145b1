#pragma once
// Batches from a Loader, on the training device. On CUDA the loader collates into page-locked memory
// and the next batch is copied on a side stream while the current step runs: next() makes the current
// stream wait for that copy (an event, no host sync) and records the batch's tensors on the current
// stream, so the caching allocator does not hand their memory to the side stream while the step still
// reads it. Elsewhere it is a plain pass-through (CPU: nothing is copied).
//
// The prefetcher holds one batch the loader has already delivered, so resume through it: position()
// is that of the batch next() returns next, and seek() drops the held batch.
#include <exception>
#include <memory>
#include <optional>

#include <c10/core/Device.h>

#include "data/loader.h"

namespace loom::data {

class DevicePrefetcher {
 public:
  // `loader` must outlive the prefetcher, which is its only consumer from now on.
  DevicePrefetcher(Loader& loader, c10::Device device);
  ~DevicePrefetcher();
  DevicePrefetcher(const DevicePrefetcher&) = delete;
  DevicePrefetcher& operator=(const DevicePrefetcher&) = delete;

  // The next batch on the device, ready for work queued on the current stream; empty at the end of a
  // non-repeating pass. Errors of the loader (too many unreadable samples, a dataset exception)
  // surface here, at the batch they concern.
  std::optional<Batch> next();

  LoaderPosition position() const;
  void seek(LoaderPosition position);
  c10::Device device() const { return device_; }

 private:
  struct Streams;  // the CUDA side stream and its event (only on CUDA)
  void stage();    // fetch the next batch and start its copy on the side stream

  Loader& loader_;
  c10::Device device_;
  std::unique_ptr<Streams> streams_;
  bool staged_ = false;  // staged_batch_ / staged_error_ hold the loader's next result
  std::optional<Batch> staged_batch_;
  std::exception_ptr staged_error_;
  LoaderPosition staged_position_;  // the loader's position before the staged batch
};

}  // namespace loom::data

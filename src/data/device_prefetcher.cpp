#include "data/device_prefetcher.h"

#include <c10/core/Event.h>
#include <c10/core/Stream.h>
#include <c10/core/StreamGuard.h>
#include <c10/core/impl/VirtualGuardImpl.h>

#include "data/to_device.h"

namespace loom::data {

// Device-generic c10 streams and events rather than c10/cuda: the same calls, without CUDA headers.
struct DevicePrefetcher::Streams {
  c10::impl::VirtualGuardImpl impl;
  c10::Stream side;
  c10::Event copied;
  explicit Streams(c10::Device device)
      : impl(device.type()),
        side(impl.getStreamFromGlobalPool(device, /*isHighPriority=*/false)),
        copied(device.type()) {}
};

namespace {

c10::Device with_index(c10::Device device) {
  if (!device.is_cuda() || device.has_index()) return device;
  return c10::impl::VirtualGuardImpl(device.type()).getDevice();
}

template <class F>
void each_tensor(Batch& batch, F f) {
  for (auto& [key, tensor] : batch.tensors) f(tensor);
  for (auto& [key, list] : batch.lists)
    for (auto& tensor : list) f(tensor);
}

}  // namespace

DevicePrefetcher::DevicePrefetcher(Loader& loader, c10::Device device) : loader_(loader), device_(with_index(device)) {
  if (!device_.is_cuda()) return;
  loader_.set_pin_memory(true);
  streams_ = std::make_unique<Streams>(device_);
}

DevicePrefetcher::~DevicePrefetcher() = default;

void DevicePrefetcher::stage() {
  staged_ = true;
  staged_batch_.reset();
  staged_error_ = nullptr;
  staged_position_ = loader_.position();
  try {
    staged_batch_ = loader_.next();
    if (!staged_batch_) return;
    c10::StreamGuard on_side(streams_->side);
    *staged_batch_ = to_device(std::move(*staged_batch_), device_, /*pin=*/true);
    streams_->copied.record(streams_->side);
  } catch (...) {
    staged_batch_.reset();
    staged_error_ = std::current_exception();
  }
}

std::optional<Batch> DevicePrefetcher::next() {
  if (!streams_) {
    std::optional<Batch> batch = loader_.next();
    if (batch) *batch = to_device(std::move(*batch), device_, /*pin=*/false);
    return batch;
  }
  if (!staged_) stage();
  staged_ = false;
  if (staged_error_) std::rethrow_exception(staged_error_);
  std::optional<Batch> batch = std::move(staged_batch_);
  if (!batch) return batch;
  const c10::Stream current = streams_->impl.getStream(device_);
  streams_->copied.block(current);
  each_tensor(*batch, [&](at::Tensor& t) { t.record_stream(current); });
  stage();  // the following batch copies while the caller's step runs
  return batch;
}

LoaderPosition DevicePrefetcher::position() const { return staged_ ? staged_position_ : loader_.position(); }

void DevicePrefetcher::seek(LoaderPosition position) {
  staged_ = false;
  staged_batch_.reset();
  staged_error_ = nullptr;
  loader_.seek(position);
}

}  // namespace loom::data

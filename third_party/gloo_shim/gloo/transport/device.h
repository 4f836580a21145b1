#pragma once
// Stand-in for gloo/transport/device.h (see third_party/gloo_shim/README.md). Both types stay opaque:
// ProcessGroupGloo.hpp only holds std::shared_ptr<Device> and std::unique_ptr<UnboundBuffer> members,
// whose layout does not depend on the pointee.
namespace gloo::transport {
class Device;
class UnboundBuffer;
}  // namespace gloo::transport

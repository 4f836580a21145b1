#pragma once
// Stand-in for gloo/context.h (see third_party/gloo_shim/README.md). Opaque except for the one
// non-virtual member ProcessGroupGloo.hpp calls inline (ProcessGroupGloo::setTimeout); libtorch_cpu.so
// exports gloo::Context::setTimeout(std::chrono::milliseconds), so the call links to the real one.
// Construction and copying are deleted so that no code of ours can create a Context of the wrong size.
#include <chrono>

namespace gloo {
class Context {
 public:
  Context() = delete;
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  void setTimeout(std::chrono::milliseconds timeout);
};
}  // namespace gloo

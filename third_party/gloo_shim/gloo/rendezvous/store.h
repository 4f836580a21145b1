#pragma once
// Stand-in for gloo/rendezvous/store.h (see third_party/gloo_shim/README.md). The virtual interface is
// the one of gloo's "store v2" (the gloo that torch 2.11 links), so that the `override`s of
// ProcessGroupGloo::GlooStore in ProcessGroupGloo.hpp compile. GlooStore itself is constructed only
// inside libtorch_cpu.so; our code never instantiates it, so this vtable is never emitted by us.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#define GLOO_STORE_HAS_STORE_V2 1

namespace gloo::rendezvous {
class Store {
 public:
  virtual ~Store() = default;
  virtual void set(const std::string& key, const std::vector<char>& data) = 0;
  virtual std::vector<char> get(const std::string& key) = 0;
  virtual void wait(const std::vector<std::string>& keys) = 0;
  virtual void wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) = 0;
  virtual bool has_v2_support() = 0;
  virtual std::vector<std::vector<char>> multi_get(const std::vector<std::string>& keys) = 0;
  virtual void multi_set(const std::vector<std::string>& keys, const std::vector<std::vector<char>>& values) = 0;
  virtual void append(const std::string& key, const std::vector<char>& data) = 0;
  virtual int64_t add(const std::string& key, int64_t value) = 0;
};
}  // namespace gloo::rendezvous

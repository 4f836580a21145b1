#pragma once
// Shared by the trainer tests: configs from YAML text, and the trained tensors of a finished run.
#include <string>

#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "core/config/config_loader.h"
#include "core/io/checkpoint.h"
#include "support/test_env.h"

namespace loom::test {

inline ConfigNode yaml(const std::string& text) { return parse_yaml(text, "test.yaml"); }

// Module and EMA tensors of a checkpoint (RNG states and the rest left out).
inline weights::NamedTensors trained_tensors(const std::filesystem::path& checkpoint) {
  weights::NamedTensors out;
  for (auto& [name, tensor] : CheckpointStore::load(checkpoint).contents.tensors)
    if (name.starts_with("module.") || name.starts_with("ema.")) out.emplace_back(name, tensor);
  return out;
}

// Bitwise equality, naming the first tensor that differs.
inline void require_identical(const weights::NamedTensors& a, const weights::NamedTensors& b) {
  REQUIRE(a.size() == b.size());
  REQUIRE(!a.empty());
  for (size_t i = 0; i < a.size(); ++i) {
    INFO(a[i].first);
    REQUIRE(a[i].first == b[i].first);
    REQUIRE(torch::equal(a[i].second, b[i].second));
  }
}

}  // namespace loom::test

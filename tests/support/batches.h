#pragma once
// Loader test helpers: the next batches of a loader, and batch-by-batch equality.
#include <vector>

#include <ATen/ops/equal.h>
#include <catch2/catch.hpp>

#include "data/loader.h"

namespace loom::test {

inline std::vector<data::Batch> take(data::Loader& loader, int count) {
  std::vector<data::Batch> out;
  for (int i = 0; i < count; ++i) out.push_back(*loader.next());
  return out;
}

// The same samples in the same order: indices, tensor "x" and every text field.
inline void check_same(const std::vector<data::Batch>& a, const std::vector<data::Batch>& b) {
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].indices == b[i].indices);
    CHECK(at::equal(a[i].at("x"), b[i].at("x")));
    for (const auto& [key, texts] : a[i].text) CHECK(texts == b[i].text.at(key));
  }
}

}  // namespace loom::test

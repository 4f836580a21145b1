#pragma once
// What datasets produce and loaders deliver: named tensors plus named strings (paths, captions).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace loom::data {

// One example: e.g. tensors {"image": float [3, H, W], "label": int64 []}, text {"path", "caption"}.
struct Sample {
  std::map<std::string, at::Tensor> tensors;
  std::map<std::string, std::string> text;
};

// Samples stacked along a new first dimension; text collected per key in sample order.
struct Batch {
  std::map<std::string, at::Tensor> tensors;
  std::map<std::string, std::vector<std::string>> text;
  std::vector<int64_t> indices;  // dataset index of each row
  int64_t size() const { return static_cast<int64_t>(indices.size()); }
  const at::Tensor& at(const std::string& key) const;  // throws UserError naming the missing key
};

}  // namespace loom::data

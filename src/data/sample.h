#pragma once
// What datasets produce and loaders deliver: named tensors, named ragged tensors (a first dimension
// that differs between samples: boxes, instance labels, masks, keypoints) and named strings.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace loom::data {

// How collate batches a ragged field; the dataset declares it per field.
enum class RaggedCollate {
  list,  // Batch::lists[name]: the samples' tensors as they are, one per sample
  pad,   // Batch::tensors[name]: [N, Kmax, ...] with pad_value past each sample's K rows, and
         // Batch::tensors[name + "_mask"]: bool [N, Kmax], true on real rows
};

// A per-sample tensor of K rows ([K, 4] boxes, [K] labels, [K, H, W] masks, [K, P, 3] keypoints).
// For pad, every sample's tensor must have the same type and the same shape after the first dimension.
struct RaggedField {
  at::Tensor value;
  RaggedCollate collate = RaggedCollate::list;
  double pad_value = 0;
};

// One example: e.g. tensors {"image": float [3, H, W], "label": int64 []}, ragged {"gt_boxes": [K, 4]},
// text {"path", "caption"}.
struct Sample {
  std::map<std::string, at::Tensor> tensors;
  std::map<std::string, RaggedField> ragged;
  std::map<std::string, std::string> text;
};

// Samples stacked along a new first dimension (tensors, and ragged fields collated with `pad`), ragged
// fields collated with `list` kept per sample, text collected per key; all in sample order.
struct Batch {
  std::map<std::string, at::Tensor> tensors;
  std::map<std::string, std::vector<at::Tensor>> lists;
  std::map<std::string, std::vector<std::string>> text;
  std::vector<int64_t> indices;  // dataset index of each row
  int64_t size() const { return static_cast<int64_t>(indices.size()); }
  const at::Tensor& at(const std::string& key) const;                 // throws UserError naming the missing key
  const std::vector<at::Tensor>& list(const std::string& key) const;  // likewise, for Batch::lists
};

}  // namespace loom::data

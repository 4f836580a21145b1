#pragma once
// A model that maps images [B, C, H, W] to class logits [B, classes]: what the classify recipe trains.
#include <ATen/core/Tensor.h>

#include "models/model.h"

namespace loom {

class ImageClassifier : public Model {
 public:
  virtual at::Tensor classify(const at::Tensor& images) = 0;
  virtual int64_t num_classes() const = 0;
};

}  // namespace loom

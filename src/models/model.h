#pragma once
// Base of every registered model: a torch module that can account for its compute (`loom info`).
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <torch/nn/module.h>

namespace loom {

class Model : public torch::nn::Module {
 public:
  // Multiply–accumulates of one forward pass for a single sample, per top-level submodule name.
  virtual std::vector<std::pair<std::string, int64_t>> multiply_accumulates() const = 0;
  // How many levels of submodules `loom info` lists (2: G.mapping, G.synthesis, ...), and extra lines
  // it prints under the table.
  virtual int info_depth() const { return 1; }
  virtual std::vector<std::string> info_notes() const { return {}; }
};

}  // namespace loom

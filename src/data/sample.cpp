#include "data/sample.h"

#include "core/text/cat.h"
#include "core/error.h"

namespace loom::data {

const at::Tensor& Batch::at(const std::string& key) const {
  auto it = tensors.find(key);
  if (it != tensors.end()) return it->second;
  std::string keys;
  for (const auto& [k, t] : tensors) keys += (keys.empty() ? "" : ", ") + k;
  throw UserError(cat("batch has no tensor '", key, "' (it has: ", keys.empty() ? "none" : keys, ")"));
}

}  // namespace loom::data

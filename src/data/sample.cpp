#include "data/sample.h"

#include "core/error.h"
#include "core/text/cat.h"
#include "core/text/join.h"

namespace loom::data {

namespace {

template <class Map>
[[noreturn]] void missing(const char* kind, const std::string& key, const Map& map) {
  std::string keys = join(map, ", ", [](const auto& entry) -> const std::string& { return entry.first; });
  throw UserError(cat("batch has no ", kind, " '", key, "' (it has: ", keys.empty() ? "none" : keys, ")"));
}

}  // namespace

const at::Tensor& Batch::at(const std::string& key) const {
  auto it = tensors.find(key);
  if (it == tensors.end()) missing("tensor", key, tensors);
  return it->second;
}

const std::vector<at::Tensor>& Batch::list(const std::string& key) const {
  auto it = lists.find(key);
  if (it == lists.end()) missing("list", key, lists);
  return it->second;
}

}  // namespace loom::data

#pragma once
// A restricted unpickler for the data.pkl inside torch.save zip files, in the spirit of Python's
// torch.load(weights_only=True): containers, numbers, strings, tensors and parameters, nothing that
// runs code. LibTorch's own unpickler turns collections.OrderedDict (every Python state_dict) into None
// and copies shared storages apart, hence this one.
#include <ATen/core/Tensor.h>
#include <c10/core/Allocator.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace loom::weights::pickle {

struct Object;
using Ref = std::shared_ptr<Object>;

struct Object {
  enum class Kind { none, boolean, integer, real, string, tuple, list, dict, tensor, global, storage };
  Kind kind = Kind::none;
  int64_t integer = 0;  // also the boolean
  double real = 0;
  std::string text;                          // string, or "module.name" of a global
  std::vector<Ref> items;                    // tuple, list
  std::vector<std::pair<Ref, Ref>> entries;  // dict, in insertion order
  at::Tensor tensor;
  at::Storage storage;  // with the element type of the typed storage it came from
  at::ScalarType dtype = at::kByte;

  Object() = default;
  Object(const Object&) = delete;
  Object& operator=(const Object&) = delete;
  // Releases children from a work list, not by recursion: a pickle of 10^5 nested tuples would
  // otherwise overflow the stack as its objects are destroyed.
  ~Object();
};

const char* kind_name(Object::Kind kind);

// The element type of a Python typed storage class ("torch.FloatStorage" → float), if supported.
std::optional<at::ScalarType> typed_storage_dtype(const std::string& global);

// Returns the bytes of the zip record "data/<key>" and their count.
using RecordLoader = std::function<std::pair<at::DataPtr, std::size_t>(const std::string& key)>;

// Throws std::runtime_error with a one-line reason on malformed or unsupported input, on a cycle (a
// list inside itself), and beyond limits().pickle_depth levels or limits().pickle_objects objects
// (core/limits.h). Tensors that shared a storage in Python share it here too.
Ref unpickle(const char* data, std::size_t size, const RecordLoader& load_record);

}  // namespace loom::weights::pickle

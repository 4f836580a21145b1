#pragma once
// The safetensors format, by hand: an 8-byte little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets}, "__metadata__": {str: str}}, then the raw little-endian data.
#include <iosfwd>
#include <string>

#include "core/io/weights.h"

namespace loom::weights {

struct Safetensors {
  NamedTensors tensors;  // in data-offset order
  Metadata metadata;
};

// Validates the header (JSON, dtypes, shapes, offsets inside the file and not overlapping) and throws
// UserError naming the file and the tensor.
Safetensors read_safetensors(const std::string& path);

// `path` only names the file in errors (duplicate names, unsupported dtype); bytes go to `out`.
void write_safetensors(std::ostream& out, const NamedTensors& tensors, const Metadata& metadata,
                       const std::string& path);

}  // namespace loom::weights

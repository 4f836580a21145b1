#pragma once
// Python torch.save zip files holding (nested) dicts of tensors: <archive>/data.pkl plus one record
// <archive>/data/<key> per storage.
#include <iosfwd>
#include <string>

#include "core/io/weights.h"

namespace loom::weights {

// Nested dicts are flattened with '.' ({"model": {"w": t}} → "model.w"); anything that is not a dict
// or tensor, a truncated or foreign zip, or a pre-1.6 (non-zip) file → UserError naming the file.
NamedTensors read_torch_save(const std::string& path);

// A plain dict of tensors that torch.load(weights_only=True) accepts; tensors sharing a storage still
// share it. `path` names the file in errors; bytes go to `out`.
void write_torch_save(std::ostream& out, const NamedTensors& tensors, const std::string& path);

}  // namespace loom::weights

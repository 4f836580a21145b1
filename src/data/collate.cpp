#include "data/collate.h"

#include <ATen/ops/empty.h>

#include <cstring>

#include "core/text/cat.h"
#include "core/error.h"

namespace loom::data {

namespace {

template <class Map>
std::string key_list(const Map& map) {
  std::string out;
  for (const auto& [k, v] : map) out += (out.empty() ? "" : ", ") + k;
  return out;
}

}  // namespace

Batch collate(const std::vector<Sample>& samples, std::vector<int64_t> indices) {
  Batch batch;
  batch.indices = std::move(indices);
  if (samples.empty()) return batch;
  const Sample& first = samples.front();
  for (size_t i = 1; i < samples.size(); ++i) {
    if (key_list(samples[i].tensors) != key_list(first.tensors) || key_list(samples[i].text) != key_list(first.text))
      throw UserError(cat("cannot batch samples ", batch.indices[0], " and ", batch.indices[i], ": different keys (",
                          key_list(first.tensors), "; ", key_list(first.text), ") vs (", key_list(samples[i].tensors),
                          "; ", key_list(samples[i].text), ")"));
  }
  for (const auto& [key, tensor] : first.tensors) {
    std::vector<int64_t> shape{static_cast<int64_t>(samples.size())};
    shape.insert(shape.end(), tensor.sizes().begin(), tensor.sizes().end());
    at::Tensor out = at::empty(shape, tensor.options().device(at::kCPU));
    // Copied with memcpy, not at::stack: ATen's parallel copy would start an OpenMP team inside every
    // loader thread, and those teams spin against each other and the training thread.
    const size_t bytes = static_cast<size_t>(tensor.numel()) * tensor.element_size();
    for (size_t i = 0; i < samples.size(); ++i) {
      const at::Tensor& t = samples[i].tensors.at(key);
      if (t.sizes() != tensor.sizes() || t.scalar_type() != tensor.scalar_type())
        throw UserError(cat("cannot batch '", key, "': sample ", batch.indices[0], " has ", tensor.scalar_type(), " ",
                            tensor.sizes(), " but sample ", batch.indices[i], " has ", t.scalar_type(), " ", t.sizes(),
                            " (add a resize or crop transform so that every image has the same size)"));
      at::Tensor c = t.to(at::kCPU).contiguous();
      std::memcpy(static_cast<char*>(out.data_ptr()) + i * bytes, c.data_ptr(), bytes);
    }
    batch.tensors.emplace(key, std::move(out));
  }
  for (const auto& [key, value] : first.text) {
    auto& out = batch.text[key];
    out.reserve(samples.size());
    for (const auto& s : samples) out.push_back(s.text.at(key));
  }
  return batch;
}

}  // namespace loom::data

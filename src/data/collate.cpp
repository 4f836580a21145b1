#include "data/collate.h"

#include <ATen/ops/empty.h>
#include <ATen/ops/scalar_tensor.h>

#include <cstring>

#include "core/error.h"
#include "core/text/cat.h"
#include "core/text/join.h"

namespace loom::data {

// Every copy here is a memcpy, not at::stack, at::cat or fill_: ATen's parallel kernels would start an
// OpenMP team inside every loader thread, and those teams spin against each other and the training thread.

namespace {

template <class Map>
std::string key_list(const Map& map) {
  return join(map, ", ", [](const auto& entry) -> const std::string& { return entry.first; });
}

std::string keys_of(const Sample& s) {
  return cat(key_list(s.tensors), "; ", key_list(s.ragged), "; ", key_list(s.text));
}

at::Tensor host_empty(at::IntArrayRef shape, at::ScalarType type, bool pin) {
  return at::empty(shape, at::TensorOptions().dtype(type).device(at::kCPU).pinned_memory(pin));
}

size_t bytes_of(const at::Tensor& t) { return static_cast<size_t>(t.numel()) * t.element_size(); }

// A contiguous host copy, in page-locked memory when asked.
at::Tensor host_copy(const at::Tensor& t, bool pin) {
  at::Tensor c = t.to(at::kCPU).contiguous();
  if (!pin) return c;
  at::Tensor out = host_empty(c.sizes(), c.scalar_type(), true);
  if (c.numel() > 0) std::memcpy(out.data_ptr(), c.data_ptr(), bytes_of(c));
  return out;
}

const char* policy_name(RaggedCollate c) { return c == RaggedCollate::list ? "list" : "pad"; }

// [N, Kmax, ...] with each sample's rows first and pad_value after them, and the bool [N, Kmax] mask.
void pad_field(const std::string& key, const std::vector<Sample>& samples, const std::vector<int64_t>& indices,
               bool pin, Batch& batch) {
  const RaggedField& first = samples.front().ragged.at(key);
  if (first.value.dim() < 1) throw UserError(cat("cannot pad '", key, "': a ragged field needs a first dimension"));
  const at::IntArrayRef tail = first.value.sizes().slice(1);
  int64_t kmax = 0;
  for (size_t i = 0; i < samples.size(); ++i) {
    const at::Tensor& t = samples[i].ragged.at(key).value;
    if (t.scalar_type() != first.value.scalar_type() || t.dim() != first.value.dim() || t.sizes().slice(1) != tail)
      throw UserError(cat("cannot pad '", key, "': sample ", indices[0], " has ", first.value.scalar_type(), " ",
                          first.value.sizes(), " but sample ", indices[i], " has ", t.scalar_type(), " ", t.sizes(),
                          " (only the first dimension may differ)"));
    kmax = std::max(kmax, t.size(0));
  }
  const int64_t n = static_cast<int64_t>(samples.size());
  std::vector<int64_t> shape{n, kmax};
  shape.insert(shape.end(), tail.begin(), tail.end());
  at::Tensor out = host_empty(shape, first.value.scalar_type(), pin);
  at::Tensor mask = host_empty({n, kmax}, at::kBool, pin);
  const at::Tensor pad = at::scalar_tensor(first.pad_value, first.value.scalar_type());
  const size_t elem = out.element_size(), row = static_cast<size_t>(kmax > 0 ? out.numel() / (n * kmax) : 0) * elem;
  auto* dst = static_cast<char*>(out.data_ptr());
  auto* valid = static_cast<bool*>(mask.data_ptr());
  for (int64_t i = 0; i < n; ++i) {
    at::Tensor c = samples[static_cast<size_t>(i)].ragged.at(key).value.to(at::kCPU).contiguous();
    const int64_t k = c.size(0);
    char* base = dst + static_cast<size_t>(i * kmax) * row;
    if (k > 0) std::memcpy(base, c.data_ptr(), static_cast<size_t>(k) * row);
    for (size_t b = static_cast<size_t>(k) * row; b < static_cast<size_t>(kmax) * row; b += elem)
      std::memcpy(base + b, pad.data_ptr(), elem);
    for (int64_t j = 0; j < kmax; ++j) valid[i * kmax + j] = j < k;
  }
  const std::string mask_key = key + "_mask";
  if (batch.tensors.count(key) || batch.tensors.count(mask_key))
    throw UserError(cat("cannot pad '", key, "': the batch already has a tensor '",
                        batch.tensors.count(key) ? key : mask_key, "'"));
  batch.tensors.emplace(key, std::move(out));
  batch.tensors.emplace(mask_key, std::move(mask));
}

}  // namespace

Batch collate(const std::vector<Sample>& samples, std::vector<int64_t> indices, bool pin_memory) {
  Batch batch;
  batch.indices = std::move(indices);
  if (samples.empty()) return batch;
  const Sample& first = samples.front();
  for (size_t i = 1; i < samples.size(); ++i) {
    if (key_list(samples[i].tensors) != key_list(first.tensors) ||
        key_list(samples[i].ragged) != key_list(first.ragged) || key_list(samples[i].text) != key_list(first.text))
      throw UserError(cat("cannot batch samples ", batch.indices[0], " and ", batch.indices[i], ": different keys (",
                          keys_of(first), ") vs (", keys_of(samples[i]), ")"));
  }
  for (const auto& [key, tensor] : first.tensors) {
    std::vector<int64_t> shape{static_cast<int64_t>(samples.size())};
    shape.insert(shape.end(), tensor.sizes().begin(), tensor.sizes().end());
    at::Tensor out = host_empty(shape, tensor.scalar_type(), pin_memory);
    const size_t bytes = bytes_of(tensor);
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
  for (const auto& [key, field] : first.ragged) {
    for (size_t i = 1; i < samples.size(); ++i) {
      const RaggedField& other = samples[i].ragged.at(key);
      if (other.collate != field.collate || other.pad_value != field.pad_value)
        throw UserError(cat("cannot batch '", key, "': sample ", batch.indices[0], " collates it by ",
                            policy_name(field.collate), " but sample ", batch.indices[i], " by ",
                            policy_name(other.collate), " (or with another pad value)"));
    }
    if (field.collate == RaggedCollate::pad) {
      pad_field(key, samples, batch.indices, pin_memory, batch);
      continue;
    }
    auto& out = batch.lists[key];
    out.reserve(samples.size());
    for (const auto& s : samples) out.push_back(host_copy(s.ragged.at(key).value, pin_memory));
  }
  for (const auto& [key, value] : first.text) {
    auto& out = batch.text[key];
    out.reserve(samples.size());
    for (const auto& s : samples) out.push_back(s.text.at(key));
  }
  return batch;
}

}  // namespace loom::data

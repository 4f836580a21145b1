#include "train/step_logs.h"

#include <vector>

#include <ATen/ops/scalar_tensor.h>
#include <ATen/ops/stack.h>
#include <c10/core/GradMode.h>

#include "train/distributed/agreement.h"

namespace loom {

void StepLogs::add(const std::string& name, const at::Tensor& value) {
  c10::NoGradGuard no_grad;
  at::Tensor v = value.detach().reshape({}).to(at::kDouble);
  Slot& slot = slots_[name];
  slot.sum = slot.sum.defined() ? slot.sum.add(v.to(slot.sum.device())) : v.clone();
  slot.count += 1;
}

Scalars StepLogs::reduce(ProcessGroup* group) {
  Scalars out;
  if (slots_.empty()) return out;  // the same on every rank: they all added the same names
  const c10::Device device = slots_.begin()->second.sum.device();
  // Sums, then counts, in one vector: one collective and one host copy for the whole window.
  std::vector<at::Tensor> values;
  for (const auto& [name, slot] : slots_) values.push_back(slot.sum.to(device));
  for (const auto& [name, slot] : slots_)
    values.push_back(at::scalar_tensor(static_cast<double>(slot.count), at::TensorOptions(device).dtype(at::kDouble)));
  at::Tensor host = sum_over_ranks_on_host(group, at::stack(values));
  const double* v = host.data_ptr<double>();
  const size_t n = slots_.size();
  size_t i = 0;
  for (const auto& [name, slot] : slots_) {
    out.emplace_back(name, v[i] / v[n + i]);
    ++i;
  }
  slots_.clear();
  return out;
}

}  // namespace loom

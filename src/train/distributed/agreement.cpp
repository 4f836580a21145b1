#include "train/distributed/agreement.h"

#include <cstring>

#include <ATen/detail/CUDAHooksInterface.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/tensor.h>

#include "train/distributed/process_group.h"

namespace loom {
namespace {

// NCCL only moves GPU memory; Gloo takes CPU tensors.
at::TensorOptions on_device(ProcessGroup& group, at::ScalarType dtype) {
  at::TensorOptions options = at::TensorOptions().dtype(dtype);
  if (group.backend() == "nccl")
    options = options.device(
        c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(at::detail::getCUDAHooks().getCurrentDevice())));
  return options;
}

}  // namespace

std::string broadcast_string(ProcessGroup& group, const std::string& text, int root) {
  std::vector<at::Tensor> length{
      at::tensor({static_cast<int64_t>(text.size())}, at::kLong).to(on_device(group, at::kLong))};
  group.broadcast(length, root);
  const int64_t n = length[0].item<int64_t>();
  at::Tensor bytes = at::empty({n}, at::kByte);
  if (group.rank() == root && n > 0) std::memcpy(bytes.data_ptr(), text.data(), static_cast<size_t>(n));
  std::vector<at::Tensor> payload{bytes.to(on_device(group, at::kByte))};
  if (n > 0) group.broadcast(payload, root);
  bytes = payload[0].cpu();
  return std::string(static_cast<const char*>(bytes.data_ptr()), static_cast<size_t>(n));
}

bool any_rank(ProcessGroup& group, bool flag) {
  std::vector<at::Tensor> value{at::tensor({flag ? 1.0 : 0.0}, at::kDouble).to(on_device(group, at::kDouble))};
  group.all_reduce_sum(value);
  return value[0].item<double>() > 0;
}

void sum_over_ranks(ProcessGroup& group, std::vector<double>& values) {
  if (values.empty()) return;
  std::vector<at::Tensor> t{at::tensor(values, at::kDouble).to(on_device(group, at::kDouble))};
  group.all_reduce_sum(t);
  at::Tensor sums = t[0].cpu();
  std::memcpy(values.data(), sums.data_ptr<double>(), values.size() * sizeof(double));
}

at::Tensor sum_over_ranks_on_host(ProcessGroup* group, const at::Tensor& values) {
  if (!group) return values.to(c10::kCPU);
  std::vector<at::Tensor> t{values.to(on_device(*group, at::kDouble))};
  group->all_reduce_sum(t);
  return t[0].to(c10::kCPU);
}

}  // namespace loom

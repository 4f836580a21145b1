#include "train/distributed/gradient_reducer.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>

#include <functional>
#include <mutex>
#include <optional>

#include "core/text/cat.h"

namespace loom {

struct GradientReducer::Impl {
  struct Bucket {
    std::vector<int64_t> params;  // indices into Impl::params
    int64_t pending = 0;          // gradients of this backward not yet accumulated
    at::Tensor buffer;            // the gradients, then one "has a gradient" flag per parameter
    std::optional<Work> work;
  };

  std::shared_ptr<ProcessGroup> group;
  std::vector<at::Tensor> params;
  std::vector<int64_t> bucket_of;
  std::vector<bool> ready;
  std::vector<Bucket> buckets;
  int64_t next_launch = 0;  // buckets start strictly in index order: collectives pair up by issue order
  bool syncing = false;
  std::mutex mutex;  // on GPUs hooks run on the autograd engine's device threads

  void grad_ready(int64_t index) {
    std::lock_guard lock(mutex);
    if (!syncing || ready[index]) return;
    ready[index] = true;
    --buckets[bucket_of[index]].pending;
    while (next_launch < static_cast<int64_t>(buckets.size()) && buckets[next_launch].pending == 0)
      launch(buckets[next_launch++]);
  }

  void launch(Bucket& bucket) {
    at::NoGradGuard no_grad;
    std::vector<at::Tensor> parts;
    std::vector<double> flags;
    for (int64_t i : bucket.params) {
      const at::Tensor& grad = params[i].grad();
      parts.push_back(grad.defined() ? grad.reshape(-1) : at::zeros({params[i].numel()}, params[i].options()));
      flags.push_back(grad.defined() ? 1.0 : 0.0);
    }
    const auto& like = params[bucket.params[0]];
    parts.push_back(at::tensor(flags, at::TensorOptions().dtype(at::kDouble)).to(like.options()));
    bucket.buffer = at::cat(parts);
    std::vector<at::Tensor> one{bucket.buffer};
    bucket.work = group->all_reduce_sum_async(one);
  }
};

namespace {

struct ReadyHook : torch::autograd::PostAccumulateGradHook {
  std::function<void()> ready;
  explicit ReadyHook(std::function<void()> ready) : ready(std::move(ready)) {}
  void operator()(const torch::autograd::Variable&) override { ready(); }
};

}  // namespace

GradientReducer::GradientReducer(std::shared_ptr<ProcessGroup> group, std::vector<at::Tensor> parameters,
                                 int64_t bucket_bytes)
    : impl_(std::make_unique<Impl>()) {
  impl_->group = std::move(group);
  for (auto& p : parameters)
    if (p.requires_grad()) impl_->params.push_back(p);
  const int64_t n = static_cast<int64_t>(impl_->params.size());
  impl_->bucket_of.assign(n, 0);
  impl_->ready.assign(n, false);
  int64_t bytes = 0;
  for (int64_t i = n - 1; i >= 0; --i) {
    const auto& p = impl_->params[i];
    auto& buckets = impl_->buckets;
    // A bucket is one flat buffer, so it holds one dtype on one device.
    bool fits = !buckets.empty() && bytes < bucket_bytes &&
                impl_->params[buckets.back().params[0]].options().dtype() == p.options().dtype() &&
                impl_->params[buckets.back().params[0]].device() == p.device();
    if (!fits) {
      buckets.emplace_back();
      bytes = 0;
    }
    buckets.back().params.push_back(i);
    bytes += p.numel() * static_cast<int64_t>(p.element_size());
    impl_->bucket_of[i] = static_cast<int64_t>(buckets.size()) - 1;
  }
  for (int64_t i = 0; i < n; ++i) {
    if (torch::autograd::impl::post_acc_grad_hooks(impl_->params[i]))
      throw UserError(cat("GradientReducer: parameter ", i, " already has a post-accumulate-grad hook"));
    torch::autograd::impl::set_post_acc_grad_hooks(
        impl_->params[i], std::make_unique<ReadyHook>([impl = impl_.get(), i] { impl->grad_ready(i); }));
  }
}

GradientReducer::~GradientReducer() {
  for (auto& p : impl_->params) torch::autograd::impl::set_post_acc_grad_hooks(p, nullptr);
}

int64_t GradientReducer::bucket_count() const { return static_cast<int64_t>(impl_->buckets.size()); }

void GradientReducer::prepare(bool sync) {
  std::lock_guard lock(impl_->mutex);
  if (impl_->next_launch > 0)
    throw std::logic_error("GradientReducer::prepare called before finish() of the previous backward");
  impl_->syncing = sync;
  impl_->ready.assign(impl_->params.size(), false);
  for (auto& b : impl_->buckets) b.pending = static_cast<int64_t>(b.params.size());
}

void GradientReducer::finish() {
  std::lock_guard lock(impl_->mutex);
  if (!impl_->syncing) return;
  auto& buckets = impl_->buckets;
  while (impl_->next_launch < static_cast<int64_t>(buckets.size())) impl_->launch(buckets[impl_->next_launch++]);
  at::NoGradGuard no_grad;
  const double world = static_cast<double>(impl_->group->world_size());
  for (auto& b : buckets) {
    b.work->wait();
    b.buffer.div_(world);
    int64_t offset = 0;
    const int64_t total = b.buffer.numel() - static_cast<int64_t>(b.params.size());
    at::Tensor used = b.buffer.narrow(0, total, static_cast<int64_t>(b.params.size())).to(at::kCPU, at::kDouble);
    for (size_t k = 0; k < b.params.size(); ++k) {
      at::Tensor& param = impl_->params[b.params[k]];
      at::Tensor averaged = b.buffer.narrow(0, offset, param.numel()).view(param.sizes());
      offset += param.numel();
      if (used[static_cast<int64_t>(k)].item<double>() == 0.0) continue;
      if (param.grad().defined())
        param.mutable_grad().copy_(averaged);
      else
        param.mutable_grad() = averaged.clone();
    }
    b.work.reset();
    b.buffer = at::Tensor();
  }
  impl_->next_launch = 0;
  impl_->syncing = false;
}

void broadcast_parameters(ProcessGroup& group, const std::vector<at::Tensor>& params_and_buffers, int root) {
  std::vector<at::Tensor> tensors = params_and_buffers;
  group.broadcast(tensors, root);
}

}  // namespace loom

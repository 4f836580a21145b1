#include "train/optim/fused_adam.h"

#include <ATen/ops/_fused_adam.h>
#include <ATen/ops/_fused_adamw.h>
#include <ATen/ops/full.h>
#include <ATen/ops/zeros_like.h>
#include <c10/core/GradMode.h>
#include <c10/util/Exception.h>

namespace loom {
namespace {

// The tensors of one parameter group's update, with per-parameter state created on first use.
struct GroupTensors {
  std::vector<at::Tensor> params, grads, exp_avgs, exp_avg_sqs, steps;
};

using StateMap = ska::flat_hash_map<void*, std::unique_ptr<torch::optim::OptimizerParamState>>;

template <class State, class GroupOptions>
GroupTensors gather(torch::optim::OptimizerParamGroup& group, StateMap& states) {
  GroupTensors t;
  const auto& options = static_cast<const GroupOptions&>(group.options());
  TORCH_CHECK(!options.amsgrad(), "fused Adam: amsgrad is not supported");
  for (auto& p : group.params()) {
    if (!p.grad().defined()) continue;
    TORCH_CHECK(!p.grad().is_sparse(), "fused Adam: sparse gradients are not supported");
    auto& slot = states[p.unsafeGetTensorImpl()];
    if (!slot) {
      auto state = std::make_unique<State>();
      state->exp_avg(at::zeros_like(p, at::MemoryFormat::Preserve));
      state->exp_avg_sq(at::zeros_like(p, at::MemoryFormat::Preserve));
      slot = std::move(state);
    }
    auto& state = static_cast<State&>(*slot);
    state.step(state.step() + 1);
    t.params.push_back(p);
    t.grads.push_back(p.grad());
    t.exp_avgs.push_back(state.exp_avg());
    t.exp_avg_sqs.push_back(state.exp_avg_sq());
    // The kernels read the (already incremented) step from a float tensor on the parameter's device.
    t.steps.push_back(at::full({}, static_cast<double>(state.step()), p.options().dtype(at::kFloat)));
  }
  return t;
}

// Returns the state keys of the parameters whose step count advanced.
template <class State, class GroupOptions, class Kernel>
std::vector<void*> fused_step(std::vector<torch::optim::OptimizerParamGroup>& groups, StateMap& states, Kernel kernel,
                              const std::optional<at::Tensor>& found_inf) {
  c10::NoGradGuard no_grad;
  std::vector<void*> advanced;
  for (auto& group : groups) {
    GroupTensors t = gather<State, GroupOptions>(group, states);
    if (t.params.empty()) continue;
    for (const auto& p : t.params) advanced.push_back(p.unsafeGetTensorImpl());
    const auto& o = static_cast<const GroupOptions&>(group.options());
    kernel(t.params, t.grads, t.exp_avgs, t.exp_avg_sqs, std::vector<at::Tensor>{}, t.steps, o.lr(),
           std::get<0>(o.betas()), std::get<1>(o.betas()), o.weight_decay(), o.eps(), false, false, std::nullopt,
           found_inf);
  }
  return advanced;
}

template <class State>
void undo_step(StateMap& states, const SkippableStep& advanced) {
  for (void* key : advanced.counted) {
    auto& state = static_cast<State&>(*states.at(key));
    state.step(state.step() - 1);
  }
}

constexpr auto kAdamKernel = [](auto&&... args) { at::_fused_adam_(std::forward<decltype(args)>(args)...); };
constexpr auto kAdamWKernel = [](auto&&... args) { at::_fused_adamw_(std::forward<decltype(args)>(args)...); };

at::Tensor run_closure(const torch::optim::Optimizer::LossClosure& closure) {
  if (!closure) return {};
  c10::AutoGradMode enable(true);
  return closure();
}

}  // namespace

at::Tensor FusedAdam::step(LossClosure closure) {
  at::Tensor loss = run_closure(closure);
  fused_step<torch::optim::AdamParamState, torch::optim::AdamOptions>(param_groups_, state_, kAdamKernel, std::nullopt);
  return loss;
}

SkippableStep FusedAdam::step_unless(const at::Tensor& found_inf) {
  return {fused_step<torch::optim::AdamParamState, torch::optim::AdamOptions>(param_groups_, state_, kAdamKernel,
                                                                              found_inf)};
}

void FusedAdam::undo_skipped_step(const SkippableStep& step) { undo_step<torch::optim::AdamParamState>(state_, step); }

at::Tensor FusedAdamW::step(LossClosure closure) {
  at::Tensor loss = run_closure(closure);
  fused_step<torch::optim::AdamWParamState, torch::optim::AdamWOptions>(param_groups_, state_, kAdamWKernel,
                                                                        std::nullopt);
  return loss;
}

SkippableStep FusedAdamW::step_unless(const at::Tensor& found_inf) {
  return {fused_step<torch::optim::AdamWParamState, torch::optim::AdamWOptions>(param_groups_, state_, kAdamWKernel,
                                                                                found_inf)};
}

void FusedAdamW::undo_skipped_step(const SkippableStep& step) {
  undo_step<torch::optim::AdamWParamState>(state_, step);
}

}  // namespace loom

#include "train/distributed/all_gather.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/functions/utils.h>

namespace loom {
namespace {

// A hand-written autograd node rather than torch::autograd::Function: it has to keep the process
// group, which Function's saved_data (IValues) cannot hold.
struct AllGatherBackward : torch::autograd::Node {
  ProcessGroup* group;
  int64_t begin, rows;
  AllGatherBackward(ProcessGroup* group, int64_t begin, int64_t rows) : group(group), begin(begin), rows(rows) {}

  torch::autograd::variable_list apply(torch::autograd::variable_list&& grads) override {
    std::vector<at::Tensor> total{grads[0].contiguous().clone()};  // summed in place; the incoming one may be shared
    group->all_reduce_sum(total);
    return {total[0].narrow(0, begin, rows)};
  }
  std::string name() const override { return "loom::AllGatherBackward"; }
};

}  // namespace

at::Tensor all_gather_with_grad(ProcessGroup& group, const at::Tensor& local) {
  at::Tensor gathered;
  {
    at::NoGradGuard no_grad;
    gathered = group.all_gather(local.detach());
  }
  if (at::GradMode::is_enabled() && local.requires_grad()) {
    auto node = std::shared_ptr<AllGatherBackward>(
        new AllGatherBackward(&group, group.rank() * local.size(0), local.size(0)), torch::autograd::deleteNode);
    node->set_next_edges(torch::autograd::collect_next_edges(local));
    torch::autograd::set_history(gathered, node);
  }
  return gathered;
}

}  // namespace loom

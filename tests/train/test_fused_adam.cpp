#include <sstream>

#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "train/optim/fused_adam.h"

using namespace loom;

namespace {

// Five steps of `Optimizer` on two parameter groups (one without weight decay) from fixed gradients.
template <class Optimizer, class Options>
std::vector<at::Tensor> run(int steps, std::vector<at::Tensor> params) {
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(std::vector<at::Tensor>{params[0]}, std::make_unique<Options>(Options(0.01).weight_decay(0.1)));
  groups.emplace_back(std::vector<at::Tensor>{params[1]}, std::make_unique<Options>(Options(0.01).weight_decay(0.0)));
  Optimizer optimizer(std::move(groups), Options(0.01).betas({0.8, 0.95}).eps(1e-6));
  for (int s = 0; s < steps; ++s) {
    for (size_t i = 0; i < params.size(); ++i)
      params[i].mutable_grad() = torch::sin(params[i] * (s + 1) + static_cast<double>(i));
    optimizer.step();
  }
  return params;
}

std::vector<at::Tensor> fresh() {
  torch::manual_seed(1);
  return {torch::randn({7, 5}).requires_grad_(), torch::randn({5}).requires_grad_()};
}

}  // namespace

TEST_CASE("fused Adam and AdamW match LibTorch's optimizers", "[optim]") {
  auto a = run<FusedAdamW, torch::optim::AdamWOptions>(5, fresh());
  auto b = run<torch::optim::AdamW, torch::optim::AdamWOptions>(5, fresh());
  for (size_t i = 0; i < a.size(); ++i) CHECK(torch::allclose(a[i], b[i], 1e-6, 1e-7));
  auto c = run<FusedAdam, torch::optim::AdamOptions>(5, fresh());
  auto d = run<torch::optim::Adam, torch::optim::AdamOptions>(5, fresh());
  for (size_t i = 0; i < c.size(); ++i) CHECK(torch::allclose(c[i], d[i], 1e-6, 1e-7));
}

TEST_CASE("fused AdamW state serialises like AdamW's", "[optim]") {
  auto p = torch::randn({4, 3}).requires_grad_();
  FusedAdamW fused({p}, torch::optim::AdamWOptions(0.01));
  p.mutable_grad() = torch::ones_like(p);
  fused.step();
  fused.step();
  torch::serialize::OutputArchive out;
  fused.save(out);
  std::ostringstream bytes;
  out.save_to(bytes);
  torch::optim::AdamW plain({p}, torch::optim::AdamWOptions(0.01));
  torch::serialize::InputArchive in;
  std::istringstream read(bytes.str());
  in.load_from(read);
  plain.load(in);
  auto& state = static_cast<torch::optim::AdamWParamState&>(*plain.state().at(p.unsafeGetTensorImpl()));
  CHECK(state.step() == 2);
  CHECK(state.exp_avg().allclose(torch::full_like(p, 1 - 0.9 * 0.9)));
}

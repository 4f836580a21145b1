#include "losses/gan_regularizers.h"

#include <ATen/ops/scalar_tensor.h>
#include <ATen/ops/softplus.h>
#include <ATen/ops/sqrt.h>
#include <ATen/ops/zeros.h>
#include <torch/csrc/autograd/autograd.h>

namespace loom {

at::Tensor generator_logistic_loss(const at::Tensor& fake_logits) { return at::softplus(-fake_logits); }

at::Tensor discriminator_logistic_loss(const at::Tensor& fake_logits, const at::Tensor& real_logits) {
  return at::softplus(fake_logits) + at::softplus(-real_logits);
}

at::Tensor r1_penalty(const at::Tensor& logits, const at::Tensor& images) {
  at::Tensor grad =
      torch::autograd::grad({logits.sum()}, {images}, {}, /*retain_graph=*/true, /*create_graph=*/true)[0];
  return grad.square().sum({1, 2, 3});
}

at::Tensor path_lengths(const at::Tensor& images, const at::Tensor& ws, const at::Tensor& noise) {
  at::Tensor grad = torch::autograd::grad({(images * noise).sum()}, {ws}, {}, true, true)[0];
  return at::sqrt(grad.square().sum(2).mean(1));
}

at::Tensor path_length_penalty(const at::Tensor& lengths, at::Tensor& pl_mean, double decay) {
  // The new mean stays in the graph (NVlabs lerps the tensor); only the stored copy is detached.
  if (!pl_mean.defined()) pl_mean = at::zeros({}, lengths.options().requires_grad(false));
  at::Tensor mean = pl_mean + decay * (lengths.mean() - pl_mean);
  pl_mean = mean.detach();
  return (lengths - mean).square();
}

at::Tensor path_length_penalty(const at::Tensor& lengths, double& pl_mean, double decay) {
  at::Tensor mean = at::scalar_tensor(pl_mean, lengths.options().requires_grad(false));
  at::Tensor penalty = path_length_penalty(lengths, mean, decay);
  pl_mean = mean.item<double>();
  return penalty;
}

}  // namespace loom

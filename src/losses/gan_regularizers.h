#pragma once
// The StyleGAN2 losses (NVlabs training/loss.py): non-saturating logistic losses, the R1 gradient
// penalty on real images and path-length regularisation. All keep graphs for a second derivative.
#include <ATen/core/Tensor.h>

namespace loom {

// G: softplus(−D(G(z))); D: softplus(D(G(z))) and softplus(−D(x)). Per sample, [N, 1].
at::Tensor generator_logistic_loss(const at::Tensor& fake_logits);
at::Tensor discriminator_logistic_loss(const at::Tensor& fake_logits, const at::Tensor& real_logits);

// ‖∇ₓ Σ D(x)‖² per sample [N] (sum over C, H, W); `images` must require grad and have produced `logits`.
at::Tensor r1_penalty(const at::Tensor& logits, const at::Tensor& images);

// Per-sample path length [N]: sqrt(mean over ws of Σ_w g²) with g = ∂(Σ images·noise)/∂ws, where `noise`
// is N(0,1)/√(H·W) shaped like the images and `ws` [N, num_ws, w_dim] produced `images`.
at::Tensor path_lengths(const at::Tensor& images, const at::Tensor& ws, const at::Tensor& noise);

// (lengths − a)² where a = pl_mean lerped towards mean(lengths) by `decay` (a depends on the lengths,
// as in NVlabs); pl_mean is updated to a's value.
// `pl_mean` is a scalar tensor on the lengths' device (undefined = 0), updated in place without a host
// sync, as NVlabs keeps it; the double form is the same computation on a host value.
at::Tensor path_length_penalty(const at::Tensor& lengths, at::Tensor& pl_mean, double decay);
at::Tensor path_length_penalty(const at::Tensor& lengths, double& pl_mean, double decay);

}  // namespace loom

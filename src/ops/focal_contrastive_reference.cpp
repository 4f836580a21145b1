// Plain-ATen focal contrastive loss, as in google-research fvlm/rovit/focal_contrastive_loss.py;
// autograd goes through ATen.
#include <ATen/ATen.h>

#include "ops/focal_contrastive.h"

namespace loom::ops {

at::Tensor focal_contrastive_loss_reference(const at::Tensor& logits, const at::Tensor& targets, double alpha,
                                            double gamma, std::optional<double> normalizer) {
  detail::check_focal_contrastive_args(logits, targets, alpha, gamma, normalizer);
  const at::Tensor& x = logits;
  const at::Tensor y = at::one_hot(targets, logits.size(1)).to(logits.scalar_type());
  // softplus(t) = max(t,0) + log1p(exp(-|t|)) = -log_sigmoid(-t). The log_sigmoid form is exact (no
  // threshold like at::softplus) and ATen differentiates it correctly at t = 0, unlike max/abs.
  const auto softplus = [](const at::Tensor& t) { return -at::log_sigmoid(-t); };
  const at::Tensor ce = softplus(x) - x * y;  // = max(x,0) - x*y + log1p(exp(-|x|))
  const at::Tensor modulator = at::exp(-gamma * y * x - gamma * softplus(-x));
  const at::Tensor weight = y * (2.0 * alpha) + (1.0 - y) * (2.0 * (1.0 - alpha));
  at::Tensor loss = (modulator * ce * weight).sum();
  return normalizer ? loss / *normalizer : loss;
}

}  // namespace loom::ops

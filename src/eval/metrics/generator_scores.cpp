#include "eval/metrics/generator_scores.h"

#include <algorithm>

#include "eval/metrics/fid.h"
#include "eval/metrics/kid.h"

namespace loom::eval {

Scalars fid_and_kid(const at::Tensor& real, const at::Tensor& fake, const std::string& tag, const std::string& suffix,
                    const KidSampling& kid) {
  Scalars out{{"val/fid" + tag + suffix, frechet_distance(real, fake)}};
  if (kid.subsets <= 0) return out;
  const bool sampled = kid.subset_size < std::min(real.size(0), fake.size(0));
  const KidResult result = kernel_inception_distance(real, fake, sampled ? kid.subsets : 1, kid.subset_size, kid.seed);
  out.emplace_back("val/kid" + tag + suffix, result.mean);
  if (sampled) out.emplace_back("val/kid_std" + tag + suffix, result.std);
  return out;
}

at::Tensor to_eight_bit_unit(const at::Tensor& images) { return (images * 127.5 + 128).clamp(0, 255).floor() / 255; }

}  // namespace loom::eval

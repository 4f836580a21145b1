#pragma once
// The scores a generator's evaluation reports from extracted features: FID, and KID with its spread,
// under names that say what was compared ("val/fid<tag><suffix>"); and generated images put on the
// 8-bit grid real images live on, as NVlabs' metric code does before extracting features.
#include <cstdint>
#include <string>

#include <ATen/core/Tensor.h>

#include "core/metrics/metrics_writer.h"

namespace loom::eval {

struct KidSampling {
  int64_t subsets = 100;  // 0 = no KID
  int64_t subset_size = 1000;
  uint64_t seed = 0;
};

// "val/fid<tag><suffix>", "val/kid<tag><suffix>" and, when subsets were sampled, "val/kid_std<tag><suffix>".
// Subsets as large as both sets are all the same set: then one evaluation and no spread.
Scalars fid_and_kid(const at::Tensor& real, const at::Tensor& fake, const std::string& tag, const std::string& suffix,
                    const KidSampling& kid);

// Generator output in [-1, 1] -> [0, 1] rounded to 8-bit levels.
at::Tensor to_eight_bit_unit(const at::Tensor& images);

}  // namespace loom::eval

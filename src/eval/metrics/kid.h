#pragma once
// Kernel Inception Distance (Bińkowski et al. 2018) as NVlabs stylegan2-ada-pytorch computes it: the
// unbiased MMD² estimate with the cubic polynomial kernel k(x, y) = (x·y / d + 1)³, averaged over random
// subsets of m = min(|a|, |b|, max_subset_size) rows of each set, drawn without replacement.
#include <cstdint>

#include <ATen/core/Tensor.h>

namespace loom::eval {

struct KidResult {
  double mean = 0.0;  // the KID value NVlabs reports
  double std = 0.0;   // spread of the per-subset estimates (population std, as torch-fidelity); 0 for one subset
  int64_t subset_size = 0;
  int64_t num_subsets = 0;
};

// a [Na, D], b [Nb, D] features (computed in float64). Deterministic for a seed: subsets come from a
// portable PRNG, the same on every machine. With max_subset_size ≥ min(Na, Nb) = Na = Nb and one subset,
// no sampling matters (the estimate is permutation invariant). Throws UserError below 2 rows.
KidResult kernel_inception_distance(const at::Tensor& a, const at::Tensor& b, int64_t num_subsets = 100,
                                    int64_t max_subset_size = 1000, uint64_t seed = 0);

}  // namespace loom::eval

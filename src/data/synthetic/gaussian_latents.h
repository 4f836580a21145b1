#pragma once
// Latent vectors as a dataset, for data-free training (MobileStyleGAN's NoiseDataset): sample i is
// z ~ N(0, I) of size `dim` under the tensor name "z", drawn from the loader's per-sample generator,
// so it is reproducible from (seed, epoch, index) and resumes exactly; a new epoch draws new latents.
// `size` only sets how many samples make an epoch.
#include <cstdint>

#include "data/dataset.h"

namespace loom::data {

class GaussianLatents : public Dataset {
 public:
  GaussianLatents(int64_t dim, int64_t size);
  int64_t size() const override { return size_; }
  Sample get(int64_t index, std::mt19937_64& rng) const override;
  std::string describe() const override;

 private:
  int64_t dim_, size_;
};

}  // namespace loom::data

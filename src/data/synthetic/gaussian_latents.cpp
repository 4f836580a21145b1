#include "data/synthetic/gaussian_latents.h"

#include <ATen/ops/empty.h>

#include "core/text/cat.h"

namespace loom::data {

GaussianLatents::GaussianLatents(int64_t dim, int64_t size) : dim_(dim), size_(size) {}

Sample GaussianLatents::get(int64_t, std::mt19937_64& rng) const {
  at::Tensor z = at::empty({dim_}, at::kFloat);
  std::normal_distribution<float> normal;
  float* p = z.data_ptr<float>();
  for (int64_t i = 0; i < dim_; ++i) p[i] = normal(rng);
  Sample s;
  s.tensors["z"] = z;
  return s;
}

std::string GaussianLatents::describe() const {
  return cat("gaussian latents (", size_, " per epoch, dim ", dim_, ")");
}

}  // namespace loom::data

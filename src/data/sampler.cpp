#include "data/sampler.h"

#include <numeric>
#include <random>
#include <stdexcept>
#include <utility>

#include "core/text/cat.h"
#include "data/random.h"

namespace loom::data {

Sampler::Sampler(int64_t dataset_size, uint64_t seed, bool shuffle, bool drop_last, int64_t rank, int64_t world_size)
    : size_(dataset_size), seed_(seed), shuffle_(shuffle), rank_(rank), world_size_(world_size) {
  if (world_size < 1 || rank < 0 || rank >= world_size)
    throw std::invalid_argument(cat("sampler: rank ", rank, " outside world of ", world_size));
  per_rank_ = drop_last ? size_ / world_size_ : (size_ + world_size_ - 1) / world_size_;
}

std::vector<int64_t> Sampler::epoch_indices(int64_t epoch) const {
  std::vector<int64_t> order(static_cast<size_t>(size_));
  std::iota(order.begin(), order.end(), int64_t{0});
  if (shuffle_) {
    std::mt19937_64 rng(mix_seed({seed_, static_cast<uint64_t>(epoch)}));
    for (int64_t i = size_ - 1; i > 0; --i) std::swap(order[i], order[uniform_int(rng, 0, i)]);
  }
  std::vector<int64_t> mine;
  mine.reserve(static_cast<size_t>(per_rank_));
  for (int64_t k = 0; k < per_rank_; ++k) mine.push_back(order[(rank_ + k * world_size_) % size_]);
  return mine;
}

}  // namespace loom::data

#pragma once
// The order of an epoch: a Fisher-Yates shuffle seeded from (seed, epoch), the same on every platform,
// then this rank's share (every world_size-th index from position rank). Every rank gets the same
// number of samples, so ranks run the same number of steps: with drop_last the tail that does not
// divide evenly is dropped, otherwise the order wraps around to pad it.
#include <cstdint>
#include <vector>

namespace loom::data {

class Sampler {
 public:
  Sampler(int64_t dataset_size, uint64_t seed, bool shuffle, bool drop_last, int64_t rank = 0, int64_t world_size = 1);

  // This rank's dataset indices for an epoch, in order.
  std::vector<int64_t> epoch_indices(int64_t epoch) const;
  int64_t samples_per_rank() const { return per_rank_; }

 private:
  int64_t size_;
  uint64_t seed_;
  bool shuffle_;
  int64_t rank_, world_size_, per_rank_;
};

}  // namespace loom::data

#pragma once
// The order of an epoch, the same on every platform, then this rank's share (every world_size-th
// index from position rank). Every rank gets the same number of samples, so ranks run the same
// number of steps: with drop_last the tail that does not divide evenly is dropped, otherwise the
// order wraps around to pad it.
//
// Modes (LoaderOptions::sampler):
//   permutation       every index once, in a Fisher-Yates shuffle seeded from (seed, epoch) (or in order);
//   with_replacement  max(size, min_epoch_size) indices drawn uniformly with replacement from (seed, epoch);
//   repeat            the permutation repeated (each copy shuffled from (seed, epoch, copy)) until there
//                     are at least min_epoch_size, so every index appears equally often.
// The last two let a dataset smaller than one batch train (a handful of style images at batch 4).
#include <cstdint>
#include <string>
#include <vector>

namespace loom::data {

enum class SamplingMode { permutation, with_replacement, repeat };

const std::vector<std::string>& sampling_mode_names();  // permutation, with_replacement, repeat
SamplingMode sampling_mode(const std::string& name);    // throws std::invalid_argument for others

class Sampler {
 public:
  Sampler(int64_t dataset_size, uint64_t seed, bool shuffle, bool drop_last, int64_t rank = 0, int64_t world_size = 1,
          SamplingMode mode = SamplingMode::permutation, int64_t min_epoch_size = 0);

  // This rank's dataset indices for an epoch, in order.
  std::vector<int64_t> epoch_indices(int64_t epoch) const;
  int64_t samples_per_rank() const { return per_rank_; }
  int64_t epoch_size() const { return epoch_size_; }  // of all ranks together, before sharding
  // Where the rank's k-th sample of an epoch sits in the epoch's order of all ranks.
  int64_t global_position(int64_t k) const { return rank_ + k * world_size_; }

 private:
  std::vector<int64_t> epoch_order(int64_t epoch) const;

  int64_t size_;
  uint64_t seed_;
  bool shuffle_;
  int64_t rank_, world_size_;
  SamplingMode mode_;
  int64_t epoch_size_, per_rank_;
};

}  // namespace loom::data

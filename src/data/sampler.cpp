#include "data/sampler.h"

#include <numeric>
#include <random>
#include <stdexcept>
#include <utility>

#include "core/text/cat.h"
#include "data/random.h"

namespace loom::data {

namespace {

constexpr uint64_t kReplacementStream = 0x7265706c;  // "repl": the draws are not the shuffle's

std::vector<int64_t> permutation(int64_t size, bool shuffle, uint64_t seed) {
  std::vector<int64_t> order(static_cast<size_t>(size));
  std::iota(order.begin(), order.end(), int64_t{0});
  if (shuffle) {
    std::mt19937_64 rng(seed);
    for (int64_t i = size - 1; i > 0; --i) std::swap(order[i], order[uniform_int(rng, 0, i)]);
  }
  return order;
}

}  // namespace

const std::vector<std::string>& sampling_mode_names() {
  static const std::vector<std::string> names = {"permutation", "with_replacement", "repeat"};
  return names;
}

SamplingMode sampling_mode(const std::string& name) {
  if (name == "permutation") return SamplingMode::permutation;
  if (name == "with_replacement") return SamplingMode::with_replacement;
  if (name == "repeat") return SamplingMode::repeat;
  throw std::invalid_argument(cat("sampler: no mode '", name, "'"));
}

Sampler::Sampler(int64_t dataset_size, uint64_t seed, bool shuffle, bool drop_last, int64_t rank, int64_t world_size,
                 SamplingMode mode, int64_t min_epoch_size)
    : size_(dataset_size), seed_(seed), shuffle_(shuffle), rank_(rank), world_size_(world_size), mode_(mode) {
  if (world_size < 1 || rank < 0 || rank >= world_size)
    throw std::invalid_argument(cat("sampler: rank ", rank, " outside world of ", world_size));
  if (dataset_size < 1 && mode != SamplingMode::permutation)
    throw std::invalid_argument(cat("sampler: nothing to draw from an empty dataset"));
  switch (mode) {
    case SamplingMode::permutation:
      epoch_size_ = size_;
      break;
    case SamplingMode::with_replacement:
      epoch_size_ = std::max(size_, min_epoch_size);
      break;
    case SamplingMode::repeat:
      epoch_size_ = size_ * std::max<int64_t>(1, (min_epoch_size + size_ - 1) / size_);
      break;
  }
  per_rank_ = drop_last ? epoch_size_ / world_size_ : (epoch_size_ + world_size_ - 1) / world_size_;
}

std::vector<int64_t> Sampler::epoch_order(int64_t epoch) const {
  const uint64_t e = static_cast<uint64_t>(epoch);
  if (mode_ == SamplingMode::with_replacement) {
    std::mt19937_64 rng(mix_seed({seed_, e, kReplacementStream}));
    std::vector<int64_t> draws(static_cast<size_t>(epoch_size_));
    for (auto& index : draws) index = uniform_int(rng, 0, size_ - 1);
    return draws;
  }
  // Copy 0 of `repeat` is the permutation itself, so repeat over a dataset of a batch or more is permutation.
  std::vector<int64_t> order = permutation(size_, shuffle_, mix_seed({seed_, e}));
  for (uint64_t copy = 1; static_cast<int64_t>(order.size()) < epoch_size_; ++copy) {
    std::vector<int64_t> more = permutation(size_, shuffle_, mix_seed({seed_, e, copy}));
    order.insert(order.end(), more.begin(), more.end());
  }
  return order;
}

std::vector<int64_t> Sampler::epoch_indices(int64_t epoch) const {
  const std::vector<int64_t> order = epoch_order(epoch);
  std::vector<int64_t> mine;
  mine.reserve(static_cast<size_t>(per_rank_));
  for (int64_t k = 0; k < per_rank_; ++k) mine.push_back(order[static_cast<size_t>(global_position(k) % epoch_size_)]);
  return mine;
}

}  // namespace loom::data

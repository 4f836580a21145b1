#pragma once
// A tiny counter-free PRNG (splitmix64) whose output is fixed by the seed alone: the same numbers on
// every machine, compiler and LibTorch version, unlike at::randn (whose CPU kernel has SIMD variants).
#include <cstdint>

#include "data/random.h"

namespace loom::eval {

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next() {  // the splitmix64 sequence: mix(seed + k·golden) for k = 1, 2, …
    const uint64_t out = data::splitmix64(state_);
    state_ += 0x9E3779B97F4A7C15ull;
    return out;
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }                        // [0, 1)
  uint64_t below(uint64_t n) { return static_cast<uint64_t>(uniform() * static_cast<double>(n)); }  // [0, n)

 private:
  uint64_t state_;
};

}  // namespace loom::eval

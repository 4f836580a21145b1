#include "core/random/numpy_random.h"

#include <cmath>
#include <random>

namespace loom {

std::vector<double> numpy_legacy_randn(uint32_t seed, int64_t count) {
  std::mt19937 engine(seed);  // the standard seeding is MT19937's init_genrand, as numpy's for int seeds
  auto uniform = [&] {        // numpy's 53-bit double from two 32-bit draws
    const uint32_t a = engine() >> 5, b = engine() >> 6;
    return (a * 67108864.0 + b) / 9007199254740992.0;
  };
  std::vector<double> out;
  out.reserve(static_cast<size_t>(count));
  while (static_cast<int64_t>(out.size()) < count) {
    double x1, x2, r2;
    do {
      x1 = 2.0 * uniform() - 1.0;
      x2 = 2.0 * uniform() - 1.0;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1.0 || r2 == 0.0);
    const double f = std::sqrt(-2.0 * std::log(r2) / r2);
    out.push_back(f * x2);  // numpy returns this one first and caches f·x1
    if (static_cast<int64_t>(out.size()) < count) out.push_back(f * x1);
  }
  return out;
}

}  // namespace loom

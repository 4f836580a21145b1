#pragma once
// numpy's legacy `np.random.RandomState(seed).randn(n)`: MT19937 seeded with the 32-bit seed and the
// polar Box–Muller method with its cached second value. NVlabs' generate.py draws z this way, so
// `loom generate seeds=…` shows the same faces as the reference scripts do for the same weights.
#include <cstdint>
#include <vector>

namespace loom {

std::vector<double> numpy_legacy_randn(uint32_t seed, int64_t count);

}  // namespace loom

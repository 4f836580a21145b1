// Which instruction-set build of a CPU kernel to run. Kernels that want AVX2 are compiled twice (see
// CMakeLists.txt): once with the default flags and once with -mavx2 -mfma, each in a namespace named
// after its ATen CPU_CAPABILITY value (loom::ops::DEFAULT, loom::ops::AVX2).
#pragma once

namespace loom::ops {

enum class CpuCapability { kDefault, kAvx2 };

// Whether this CPU (and OS) can run the given build.
bool cpu_supports(CpuCapability capability);

// The build to use: AVX2 where supported, unless ATEN_CPU_CAPABILITY=default asks, as it does ATen's own
// kernels, for the fallback. Read once.
CpuCapability cpu_capability();

}  // namespace loom::ops

#include "ops/cpu_capability.h"

#include <cstdlib>
#include <cstring>

namespace loom::ops {

bool cpu_supports(CpuCapability capability) {
  switch (capability) {
    case CpuCapability::kDefault:
      return true;
    case CpuCapability::kAvx2:
      // libgcc also checks that the OS saves the YMM registers.
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
  }
  return false;
}

CpuCapability cpu_capability() {
  static const CpuCapability chosen = [] {
    const char* env = std::getenv("ATEN_CPU_CAPABILITY");
    if (env != nullptr && std::strcmp(env, "default") == 0) return CpuCapability::kDefault;
    return cpu_supports(CpuCapability::kAvx2) ? CpuCapability::kAvx2 : CpuCapability::kDefault;
  }();
  return chosen;
}

}  // namespace loom::ops

#include "train/rng_state.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <ATen/detail/CUDAHooksInterface.h>

#include "core/text/cat.h"

namespace loom {

namespace {
const std::string kCpu = "rng.cpu";
const std::string kCudaPrefix = "rng.cuda.";
}  // namespace

weights::NamedTensors capture_rng_state() {
  weights::NamedTensors out;
  out.emplace_back(kCpu, at::detail::getDefaultCPUGenerator().get_state());
  const auto& cuda = at::detail::getCUDAHooks();
  if (cuda.hasCUDA())
    for (c10::DeviceIndex i = 0; i < cuda.deviceCount(); ++i)
      out.emplace_back(cat(kCudaPrefix, static_cast<int>(i)), at::Generator(cuda.getDefaultGenerator(i)).get_state());
  return out;
}

void restore_rng_state(const weights::NamedTensors& tensors) {
  const auto& cuda = at::detail::getCUDAHooks();
  for (const auto& [name, state] : tensors) {
    if (name == kCpu) {
      at::Generator generator = at::detail::getDefaultCPUGenerator();  // a handle sharing the default state
      generator.set_state(state);
    } else if (name.starts_with(kCudaPrefix) && cuda.hasCUDA()) {
      int index = std::stoi(name.substr(kCudaPrefix.size()));
      if (index >= cuda.deviceCount()) continue;
      at::Generator generator = cuda.getDefaultGenerator(static_cast<c10::DeviceIndex>(index));  // shares the state
      generator.set_state(state);
    }
  }
}

}  // namespace loom

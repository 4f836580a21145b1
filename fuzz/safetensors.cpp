// The safetensors reader on a whole file (header length, JSON header, offsets, data). What it accepts
// must write back and read again to the same names, dtypes, shapes, bytes and metadata.
#include <ATen/ATen.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>

#include "core/io/safetensors.h"
#include "fuzz_support.h"

namespace {

bool same_bytes(const at::Tensor& a, const at::Tensor& b) {
  if (a.scalar_type() != b.scalar_type() || a.sizes() != b.sizes()) return false;
  const at::Tensor ca = a.contiguous(), cb = b.contiguous();
  // Empty tensors may have no data pointer at all (memcmp of null is undefined even for 0 bytes).
  return ca.nbytes() == cb.nbytes() &&
         (ca.nbytes() == 0 || std::memcmp(ca.const_data_ptr(), cb.const_data_ptr(), ca.nbytes()) == 0);
}

[[noreturn]] void mismatch(const std::string& what) {
  std::fprintf(stderr, "safetensors round trip: %s\n", what.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static loom::fuzz::MemoryFile file;
  loom::fuzz::expect_user_errors([&] {
    const auto first = loom::weights::read_safetensors(file.write(data, size));
    std::ostringstream out;
    loom::weights::write_safetensors(out, first.tensors, first.metadata, "round trip");
    const std::string bytes = out.str();
    const auto again =
        loom::weights::read_safetensors(file.write(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
    if (again.metadata != first.metadata) mismatch("the metadata differs");
    if (again.tensors.size() != first.tensors.size()) mismatch("the tensor count differs");
    for (size_t i = 0; i < first.tensors.size(); ++i)
      if (again.tensors[i].first != first.tensors[i].first ||
          !same_bytes(again.tensors[i].second, first.tensors[i].second))
        mismatch("tensor '" + first.tensors[i].first + "' differs");
  });
  return 0;
}

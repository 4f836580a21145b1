#include "core/io/npy.h"

#include <string>

#include "core/error.h"
#include "core/io/atomic_file.h"
#include "core/text/cat.h"
#include "core/text/join.h"

namespace loom {
namespace {

// NumPy's dtype descriptor, little-endian (the only byte order of the machines LibTorch runs on here).
std::string descriptor(at::ScalarType type) {
  switch (type) {
    case at::kFloat:
      return "<f4";
    case at::kDouble:
      return "<f8";
    case at::kInt:
      return "<i4";
    case at::kLong:
      return "<i8";
    case at::kByte:
      return "|u1";
    case at::kBool:
      return "|b1";
    default:
      throw UserError(cat("a .npy file cannot hold ", c10::toString(type), " here"));
  }
}

}  // namespace

std::string npy_bytes(const at::Tensor& tensor) {
  const at::Tensor data = tensor.cpu().contiguous();
  std::string shape = join(data.sizes(), ", ", [](int64_t n) { return std::to_string(n); });
  if (data.dim() == 1) shape += ",";  // a Python one-tuple
  std::string header =
      cat("{'descr': '", descriptor(data.scalar_type()), "', 'fortran_order': False, 'shape': (", shape, "), }");
  // magic (6) + version (2) + header length (2) + header + '\n', padded with spaces to 64 bytes.
  const size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  out += header;
  out.append(static_cast<const char*>(data.data_ptr()), data.nbytes());
  return out;
}

void write_npy(const std::filesystem::path& path, const at::Tensor& tensor) {
  write_file_atomically(path, npy_bytes(tensor));
}

}  // namespace loom

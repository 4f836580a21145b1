#pragma once
// NumPy's .npy format (version 1.0: magic, header dict padded to a multiple of 64 bytes, then the
// C-order data), which numpy.load reads without any other package.
#include <filesystem>

#include <ATen/core/Tensor.h>

namespace loom {

// The bytes of a .npy file holding `tensor` (float32/64, int32/64, uint8, bool; any shape).
// Throws UserError for another dtype.
std::string npy_bytes(const at::Tensor& tensor);

// Writes them to `path` atomically (core/io/atomic_file.h).
void write_npy(const std::filesystem::path& path, const at::Tensor& tensor);

}  // namespace loom

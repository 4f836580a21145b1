#pragma once
// CRC32C (Castagnoli), the checksum of TFRecord framing (TensorBoard event files). Not zlib's crc32.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace loom {

// Continues `crc` (the result of an earlier call, 0 to start) over `size` more bytes.
uint32_t crc32c_extend(uint32_t crc, const void* data, std::size_t size);

inline uint32_t crc32c(std::string_view bytes) { return crc32c_extend(0, bytes.data(), bytes.size()); }

// TFRecord stores CRCs masked, so that a CRC computed over data that itself holds CRCs stays robust.
inline uint32_t mask_crc32c(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

}  // namespace loom

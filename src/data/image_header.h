#pragma once
// What an encoded image's header says, read before decoding: its size, so that a small file that
// declares 20000 x 20000 pixels is refused before gigabytes are allocated, and for JPEG whether the
// data reaches its end-of-image marker (libjpeg decodes a truncated file with a warning and grey rows).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace loom::data {

struct ImageHeader {
  std::string format;  // "png", "jpeg", "bmp", "webp", "pnm"
  int64_t width = 0;
  int64_t height = 0;
  bool truncated = false;  // JPEG only: no end-of-image marker after the last scan
};

// nullopt for formats it does not know (OpenCV's own decoders and limits handle those) and for headers
// too short to say.
std::optional<ImageHeader> read_image_header(std::string_view bytes);

}  // namespace loom::data

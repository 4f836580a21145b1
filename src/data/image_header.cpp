#include "data/image_header.h"

#include <cctype>

namespace loom::data {
namespace {

uint32_t be16(std::string_view b, std::size_t at) { return (uint32_t(uint8_t(b[at])) << 8) | uint8_t(b[at + 1]); }
uint32_t be32(std::string_view b, std::size_t at) { return (be16(b, at) << 16) | be16(b, at + 2); }
uint32_t le16(std::string_view b, std::size_t at) { return uint8_t(b[at]) | (uint32_t(uint8_t(b[at + 1])) << 8); }
uint32_t le32(std::string_view b, std::size_t at) { return le16(b, at) | (le16(b, at + 2) << 16); }

std::optional<ImageHeader> png(std::string_view b) {
  // Signature, then the IHDR chunk: length, "IHDR", width, height (big-endian).
  if (b.size() < 24 || b.substr(12, 4) != "IHDR") return std::nullopt;
  return ImageHeader{"png", be32(b, 16), be32(b, 20)};
}

// Walks the marker segments; inside a scan, 0xFF is followed by 0x00 (a stuffed byte) or a restart
// marker, anything else ends the scan.
std::optional<ImageHeader> jpeg(std::string_view b) {
  ImageHeader h{"jpeg"};
  bool sized = false;
  std::size_t at = 2;
  while (true) {
    while (at < b.size() && uint8_t(b[at]) != 0xFF) ++at;  // tolerate junk between segments, as libjpeg does
    while (at < b.size() && uint8_t(b[at]) == 0xFF) ++at;  // fill bytes
    if (at >= b.size()) break;
    const uint8_t marker = uint8_t(b[at++]);
    if (marker == 0xD9) return sized ? std::optional(h) : std::nullopt;  // end of image
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;  // no length
    if (at + 2 > b.size()) break;
    const std::size_t length = be16(b, at);
    if (length < 2) break;
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC): precision, height, width.
    if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC && at + 7 <= b.size()) {
      h.height = be16(b, at + 3);
      h.width = be16(b, at + 5);
      sized = true;
    }
    at += length;
    if (marker == 0xDA) {  // start of scan: entropy-coded data up to the next marker
      while (at + 1 < b.size()) {
        if (uint8_t(b[at]) == 0xFF) {
          const uint8_t next = uint8_t(b[at + 1]);
          if (next != 0x00 && !(next >= 0xD0 && next <= 0xD7)) break;
          at += 2;
        } else {
          ++at;
        }
      }
    }
  }
  if (!sized) return std::nullopt;
  h.truncated = true;
  return h;
}

std::optional<ImageHeader> bmp(std::string_view b) {
  if (b.size() < 26 || le32(b, 14) < 12) return std::nullopt;
  if (le32(b, 14) == 12) return ImageHeader{"bmp", le16(b, 18), le16(b, 20)};  // OS/2 BITMAPCOREHEADER
  const auto height = static_cast<int32_t>(le32(b, 22));                       // negative: top-down rows
  return ImageHeader{"bmp", static_cast<int32_t>(le32(b, 18)), height < 0 ? -int64_t(height) : height};
}

std::optional<ImageHeader> webp(std::string_view b) {
  if (b.size() < 30) return std::nullopt;
  const std::string_view chunk = b.substr(12, 4);
  if (chunk == "VP8 ") return ImageHeader{"webp", le16(b, 26) & 0x3FFF, le16(b, 28) & 0x3FFF};
  if (chunk == "VP8L") {  // 14-bit width - 1 and height - 1 after the signature byte
    const uint32_t bits = le32(b, 21);
    return ImageHeader{"webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1};
  }
  if (chunk == "VP8X")  // 24-bit canvas width - 1 and height - 1
    return ImageHeader{"webp", (le32(b, 24) & 0xFFFFFF) + 1, (le32(b, 27) & 0xFFFFFF) + 1};
  return std::nullopt;
}

// "P1".."P6": whitespace-separated width and height, with # comments, after the magic.
std::optional<ImageHeader> pnm(std::string_view b) {
  std::size_t at = 2;
  int64_t values[2] = {0, 0};
  for (int64_t& v : values) {
    while (at < b.size() && (std::isspace(uint8_t(b[at])) || b[at] == '#')) {
      if (b[at] == '#')
        while (at < b.size() && b[at] != '\n') ++at;
      else
        ++at;
    }
    if (at >= b.size() || !std::isdigit(uint8_t(b[at]))) return std::nullopt;
    for (; at < b.size() && std::isdigit(uint8_t(b[at])) && v < (int64_t(1) << 40); ++at) v = v * 10 + (b[at] - '0');
  }
  return ImageHeader{"pnm", values[0], values[1]};
}

}  // namespace

std::optional<ImageHeader> read_image_header(std::string_view b) {
  if (b.size() >= 8 && b.substr(0, 8) == "\x89PNG\r\n\x1a\n") return png(b);
  if (b.size() >= 3 && uint8_t(b[0]) == 0xFF && uint8_t(b[1]) == 0xD8 && uint8_t(b[2]) == 0xFF) return jpeg(b);
  if (b.size() >= 2 && b.substr(0, 2) == "BM") return bmp(b);
  if (b.size() >= 12 && b.substr(0, 4) == "RIFF" && b.substr(8, 4) == "WEBP") return webp(b);
  if (b.size() >= 3 && b[0] == 'P' && b[1] >= '1' && b[1] <= '6') return pnm(b);
  return std::nullopt;
}

}  // namespace loom::data

#include "core/metrics/protobuf_wire.h"

#include <bit>

namespace loom::pb {

void Encoder::varint(uint64_t value) {
  while (value >= 0x80) {
    bytes_.push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  bytes_.push_back(static_cast<char>(value));
}

void Encoder::tag(uint32_t field, WireType type) { varint((uint64_t(field) << 3) | static_cast<uint8_t>(type)); }

// Little-endian byte by byte, independent of the host's byte order.
void Encoder::fixed32(uint32_t value) {
  for (int i = 0; i < 4; ++i) bytes_.push_back(static_cast<char>(value >> (8 * i)));
}

void Encoder::fixed64(uint64_t value) {
  for (int i = 0; i < 8; ++i) bytes_.push_back(static_cast<char>(value >> (8 * i)));
}

void Encoder::int_field(uint32_t field, int64_t value) {
  tag(field, WireType::varint);
  varint(static_cast<uint64_t>(value));
}

void Encoder::float_field(uint32_t field, float value) {
  tag(field, WireType::fixed32);
  fixed32(std::bit_cast<uint32_t>(value));
}

void Encoder::double_field(uint32_t field, double value) {
  tag(field, WireType::fixed64);
  fixed64(std::bit_cast<uint64_t>(value));
}

void Encoder::bytes_field(uint32_t field, std::string_view bytes) {
  tag(field, WireType::length_delimited);
  varint(bytes.size());
  bytes_.append(bytes);
}

void Encoder::message_field(uint32_t field, const Encoder& message) { bytes_field(field, message.bytes_); }

void Encoder::packed_doubles_field(uint32_t field, std::span<const double> values) {
  tag(field, WireType::length_delimited);
  varint(values.size() * 8);
  for (double v : values) fixed64(std::bit_cast<uint64_t>(v));
}

}  // namespace loom::pb

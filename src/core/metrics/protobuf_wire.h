#pragma once
// Minimal protobuf wire-format encoder: just what TensorBoard event records need (varints, fixed32/64,
// length-delimited bytes and nested messages, packed doubles). Nested messages are built in their own
// Encoder first, because a length prefix precedes the payload.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace loom::pb {

enum class WireType : uint8_t { varint = 0, fixed64 = 1, length_delimited = 2, fixed32 = 5 };

class Encoder {
 public:
  void varint(uint64_t value);
  void tag(uint32_t field, WireType type);

  // int32/int64 fields: negative values are sign-extended to 64 bits (10 bytes), as protobuf does.
  void int_field(uint32_t field, int64_t value);
  void float_field(uint32_t field, float value);             // fixed32
  void double_field(uint32_t field, double value);           // fixed64
  void bytes_field(uint32_t field, std::string_view bytes);  // string, bytes
  void message_field(uint32_t field, const Encoder& message);
  void packed_doubles_field(uint32_t field, std::span<const double> values);

  const std::string& bytes() const { return bytes_; }

 private:
  void fixed32(uint32_t value);
  void fixed64(uint64_t value);

  std::string bytes_;
};

}  // namespace loom::pb

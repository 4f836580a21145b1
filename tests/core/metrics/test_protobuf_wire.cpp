// CRC32C and the protobuf wire encoder, against published values.
#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "core/io/crc32c.h"
#include "core/metrics/protobuf_wire.h"

namespace {

std::vector<int> bytes_of(const loom::pb::Encoder& e) {
  std::vector<int> out;
  for (char c : e.bytes()) out.push_back(static_cast<unsigned char>(c));
  return out;
}

}  // namespace

TEST_CASE("crc32c matches the Castagnoli check values", "[metrics][crc]") {
  CHECK(loom::crc32c("123456789") == 0xE3069283u);
  CHECK(loom::crc32c("") == 0u);
  CHECK(loom::crc32c(std::string(32, '\0')) == 0x8A9136AAu);    // RFC 3720 B.4: 32 bytes of zeros
  CHECK(loom::crc32c(std::string(32, '\xff')) == 0x62A8AB43u);  // RFC 3720 B.4: 32 bytes of 0xff
  // Extending in pieces (across the 8-byte fast path and the byte tail) equals one pass.
  std::string text = "The quick brown fox jumps over the lazy dog, twice over.";
  for (std::size_t cut : {0ul, 1ul, 7ul, 8ul, 13ul, text.size()}) {
    uint32_t crc = loom::crc32c_extend(0, text.data(), cut);
    CHECK(loom::crc32c_extend(crc, text.data() + cut, text.size() - cut) == loom::crc32c(text));
  }
  CHECK(loom::mask_crc32c(0) == 0xa282ead8u);
  CHECK(loom::mask_crc32c(0xE3069283u) == (((0xE3069283u >> 15) | (0xE3069283u << 17)) + 0xa282ead8u));
}

TEST_CASE("protobuf varints and tags", "[metrics][protobuf]") {
  using loom::pb::Encoder;
  auto varint = [](uint64_t v) {
    Encoder e;
    e.varint(v);
    return bytes_of(e);
  };
  CHECK(varint(0) == std::vector<int>{0x00});
  CHECK(varint(1) == std::vector<int>{0x01});
  CHECK(varint(127) == std::vector<int>{0x7F});
  CHECK(varint(150) == std::vector<int>{0x96, 0x01});
  CHECK(varint(300) == std::vector<int>{0xAC, 0x02});
  CHECK(varint(UINT64_MAX) == std::vector<int>{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01});

  Encoder neg;
  neg.int_field(2, -1);  // int64 -1: tag 0x10 then ten bytes
  CHECK(bytes_of(neg) == std::vector<int>{0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01});

  Encoder big_field;
  big_field.int_field(16, 1);  // field 16 needs a two-byte tag: (16 << 3) | 0 = 128
  CHECK(bytes_of(big_field) == std::vector<int>{0x80, 0x01, 0x01});
}

TEST_CASE("protobuf fixed-width, length-delimited and packed fields", "[metrics][protobuf]") {
  using loom::pb::Encoder;
  Encoder f;
  f.float_field(2, 1.0f);  // 0x3F800000 little-endian
  CHECK(bytes_of(f) == std::vector<int>{0x15, 0x00, 0x00, 0x80, 0x3F});

  Encoder d;
  d.double_field(1, 1.0);  // 0x3FF0000000000000
  CHECK(bytes_of(d) == std::vector<int>{0x09, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F});

  Encoder s;
  s.bytes_field(3, "brain.Event:2");
  std::vector<int> want{0x1A, 13};
  for (char c : std::string("brain.Event:2")) want.push_back(c);
  CHECK(bytes_of(s) == want);

  // Nested message: Test1 {a = 150} inside field 3, the protobuf documentation's example.
  Encoder inner;
  inner.int_field(1, 150);
  Encoder outer;
  outer.message_field(3, inner);
  CHECK(bytes_of(outer) == std::vector<int>{0x1A, 0x03, 0x08, 0x96, 0x01});

  Encoder packed;
  std::vector<double> values{1.0, 2.0};
  packed.packed_doubles_field(6, values);
  CHECK(bytes_of(packed) == std::vector<int>{0x32, 16, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F, 0, 0, 0, 0, 0, 0, 0x00, 0x40});
}

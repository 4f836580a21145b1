#pragma once
// 30370060 -> "30,370,060": counts as people read them in tables and notes.
#include <cstdint>
#include <string>

namespace loom {

inline std::string with_commas(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n), out = n < 0 ? "-" : "";
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace loom

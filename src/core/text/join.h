#pragma once
// join(names, ", ") -> "a, b, c": the one way lists are spelled in messages. Items are streamed, so
// numbers work too; `format` turns each item into something streamable first (a map entry into its key).
#include <sstream>
#include <string>
#include <string_view>

namespace loom {

template <class Range, class Format>
std::string join(const Range& items, std::string_view separator, Format format) {
  std::ostringstream out;
  bool first = true;
  for (const auto& item : items) {
    if (!first) out << separator;
    out << format(item);
    first = false;
  }
  return out.str();
}

template <class Range>
std::string join(const Range& items, std::string_view separator) {
  return join(
      items, separator, [](const auto& item) -> const auto& { return item; });
}

}  // namespace loom

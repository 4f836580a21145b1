#include "data/html_charref.h"

#include <algorithm>
#include <iterator>

#include "data/html_entities.h"

namespace loom::data {

void append_html_charref(std::u32string& out, char32_t number) {
  auto r = std::lower_bound(std::begin(html::kCharrefReplacements), std::end(html::kCharrefReplacements), number,
                            [](const html::CharrefReplacement& e, char32_t n) { return e.number < n; });
  if (r != std::end(html::kCharrefReplacements) && r->number == number) {
    out += r->cp;
  } else if ((number >= 0xD800 && number <= 0xDFFF) || number > 0x10FFFF) {
    out += U'\uFFFD';
  } else if (!((number >= 0x1 && number <= 0x8) || number == 0xB || (number >= 0xE && number <= 0x1F) ||
               (number >= 0x7F && number <= 0x9F) || (number >= 0xFDD0 && number <= 0xFDEF) ||
               (number & 0xFFFE) == 0xFFFE)) {
    out += number;
  }
}

}  // namespace loom::data

#pragma once
// What a numeric character reference (&#<number>; or &#x<hex>;) stands for in Python's html.unescape:
// HTML 5's replacements (data/html_entities.h), U+FFFD for surrogates and numbers past U+10FFFF, nothing
// for the code points HTML 5 forbids, else the code point itself. Shared by the CLIP tokenizer's own
// unescaping and ftfy's (data/text_fixes.h).
#include <string>

namespace loom::data {

void append_html_charref(std::u32string& out, char32_t number);

}  // namespace loom::data

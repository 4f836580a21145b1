#pragma once
// open_clip's text cleaning (src/open_clip/tokenizer.py, v3.3.0), shared by the tokenizers that model
// its tokenizers (the CLIP BPE one, SigLIP's SentencePiece one), and the UTF-8 conversions they use.
// Every mode starts with basic_clean: ftfy.fix_text (data/text_fixes.h, less its mojibake repair), then
// html.unescape twice; then
//   lower:        " ".join(text.split()), str.lower()                               (_clean_lower)
//   whitespace:   " ".join(text.split())                                            (_clean_whitespace)
//   canonicalize: "_" -> " ", string.punctuation removed, lower(),
//                 " ".join(text.split())                                            (_clean_canonicalize)
// with CPython 3.11's str.isspace and str.lower (full mappings, the Final_Sigma rule; data/
// unicode_categories.h) and html.unescape (data/html_entities.h; see data/clip_tokenizer.h for the names
// it knows).
#include <string>
#include <string_view>

namespace loom::data {

enum class TextClean { lower, whitespace, canonicalize };

// "lower" | "whitespace" | "canonicalize"; throws UserError for another name.
TextClean parse_text_clean(const std::string& name);

// `text` (UTF-8) cleaned as open_clip cleans it in `mode`.
std::u32string open_clip_clean(std::string_view text, TextClean mode);

// Each maximal invalid subsequence becomes one U+FFFD, as Python's bytes.decode('utf-8', 'replace').
std::u32string decode_utf8(std::string_view s);
void append_utf8(std::string& out, char32_t cp);
std::string encode_utf8(std::u32string_view s);

}  // namespace loom::data

#include "data/open_clip_text.h"

#include <algorithm>
#include <cstdint>
#include <iterator>

#include "core/error.h"
#include "core/text/cat.h"
#include "data/html_charref.h"
#include "data/html_entities.h"
#include "data/text_fixes.h"
#include "data/unicode_categories.h"

namespace loom::data {

namespace {

constexpr char32_t kReplacement = 0xFFFD;

// --- character classes -----------------------------------------------------------------------------

template <size_t N>
bool in_ranges(const unicode::Range (&table)[N], char32_t cp) {
  auto it = std::upper_bound(std::begin(table), std::end(table), cp,
                             [](char32_t c, const unicode::Range& r) { return c < r.first; });
  return it != std::begin(table) && cp <= std::prev(it)->last;
}

bool is_space(char32_t cp) {  // Python's str.isspace
  if (cp < 0x80) return cp == ' ' || (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x1F);
  return in_ranges(unicode::kSpaces, cp);
}

bool is_ascii_punctuation(char32_t cp) {  // Python's string.punctuation
  return cp < 0x80 &&
         std::string_view("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~").find(static_cast<char>(cp)) != std::string_view::npos;
}

// --- Python's str.lower() --------------------------------------------------------------------------

char32_t lower_single(char32_t cp) {
  auto it = std::upper_bound(std::begin(unicode::kLowerRuns), std::end(unicode::kLowerRuns), cp,
                             [](char32_t c, const unicode::LowerRun& r) { return c < r.first; });
  if (it == std::begin(unicode::kLowerRuns)) return cp;
  const unicode::LowerRun& r = *std::prev(it);
  if (cp > r.last || (cp - r.first) % r.stride != 0) return cp;
  return static_cast<char32_t>(static_cast<int64_t>(cp) + r.delta);
}

// Capital sigma lowers to final ς when a cased letter precedes it and none follows, looking through
// case-ignorable characters (apostrophes, combining marks) on both sides.
bool is_final_sigma(const std::u32string& s, size_t i) {
  size_t j = i;
  while (j > 0 && in_ranges(unicode::kCaseIgnorable, s[j - 1])) --j;
  if (j == 0 || !in_ranges(unicode::kCased, s[j - 1])) return false;
  size_t k = i + 1;
  while (k < s.size() && in_ranges(unicode::kCaseIgnorable, s[k])) ++k;
  return k == s.size() || !in_ranges(unicode::kCased, s[k]);
}

std::u32string python_lower(const std::u32string& s) {
  std::u32string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const char32_t cp = s[i];
    if (cp < 0x80) {
      out += cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
    } else if (cp == 0x3A3) {
      out += is_final_sigma(s, i) ? 0x3C2 : 0x3C3;
    } else if (auto m = std::find_if(std::begin(unicode::kLowerMulti), std::end(unicode::kLowerMulti),
                                     [&](const unicode::LowerMulti& e) { return e.cp == cp; });
               m != std::end(unicode::kLowerMulti)) {
      for (char32_t c : m->lower)
        if (c) out += c;
    } else {
      out += lower_single(cp);
    }
  }
  return out;
}

// --- Python's html.unescape ------------------------------------------------------------------------

bool is_digit(char32_t c) { return c >= '0' && c <= '9'; }
bool is_hex_digit(char32_t c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
int hex_value(char32_t c) { return is_digit(c) ? static_cast<int>(c - '0') : static_cast<int>((c | 0x20) - 'a' + 10); }

// The entity named `name` (ASCII only; `legacy_only`: must be valid without ';'), or null.
const html::Entity* find_entity(const std::u32string& s, size_t begin, size_t end, bool legacy_only) {
  std::string name;
  for (size_t i = begin; i < end; ++i) {
    if (s[i] >= 0x80) return nullptr;
    name += static_cast<char>(s[i]);
  }
  auto it = std::lower_bound(std::begin(html::kEntities), std::end(html::kEntities), name,
                             [](const html::Entity& e, const std::string& n) { return e.name < n; });
  if (it == std::end(html::kEntities) || it->name != name || (legacy_only && !it->legacy)) return nullptr;
  return &*it;
}

// One pass of Python's html.unescape: "&" followed by "#digits", "#x hex digits" (';' optional) or up to
// 32 characters other than \t \n \f space < & # ; (then an optional ';'). A name that is not an entity
// is tried by its longest prefix (at least 2 characters) that is an entity valid without ';'.
std::u32string html_unescape(const std::u32string& s) {
  if (s.find(U'&') == std::u32string::npos) return s;
  std::u32string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] != '&') {
      out += s[i++];
      continue;
    }
    size_t p = i + 1;
    if (p < s.size() && s[p] == '#') {
      const bool hex = p + 1 < s.size() && (s[p + 1] == 'x' || s[p + 1] == 'X');
      size_t q = p + 1 + hex;
      char32_t number = 0;  // saturates above the Unicode range: anything there reads as U+FFFD
      while (q < s.size() && (hex ? is_hex_digit(s[q]) : is_digit(s[q]))) {
        number = std::min<char32_t>(number * (hex ? 16 : 10) + (hex ? hex_value(s[q]) : s[q] - '0'), 0x110000);
        ++q;
      }
      if (q == p + 1 + hex) {  // no digits: '&' stays as it is ('#' cannot start a name)
        out += s[i++];
        continue;
      }
      if (q < s.size() && s[q] == ';') ++q;
      append_html_charref(out, number);
      i = q;
      continue;
    }
    size_t end = p;
    while (end < s.size() && end - p < 32 &&
           std::u32string_view(U"\t\n\f <&#;").find(s[end]) == std::u32string_view::npos)
      ++end;
    if (end == p) {
      out += s[i++];
      continue;
    }
    const bool semicolon = end < s.size() && s[end] == ';';
    const size_t next = end + semicolon;
    if (const html::Entity* e = find_entity(s, p, end, !semicolon)) {
      out += e->cp;
    } else {
      // The matched text is name (+ ';'); prefixes are at most one character shorter than it.
      const size_t matched = next - p;
      size_t len = matched - 1;
      const html::Entity* prefix = nullptr;
      while (len >= 2 && !(prefix = find_entity(s, p, p + len, true))) --len;
      if (prefix) {
        out += prefix->cp;
        out.append(s, p + len, next - (p + len));
      } else {
        out.append(s, i, next - i);
      }
    }
    i = next;
  }
  return out;
}

// " ".join(s.split())
std::u32string collapse_whitespace(const std::u32string& s) {
  std::u32string collapsed;
  collapsed.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    if (is_space(s[i])) {
      ++i;
      continue;
    }
    if (!collapsed.empty()) collapsed += ' ';
    while (i < s.size() && !is_space(s[i])) collapsed += s[i++];
  }
  return collapsed;
}

}  // namespace

TextClean parse_text_clean(const std::string& name) {
  if (name == "lower") return TextClean::lower;
  if (name == "whitespace") return TextClean::whitespace;
  if (name == "canonicalize") return TextClean::canonicalize;
  throw UserError(cat("unknown text cleaning '", name, "' (lower, whitespace or canonicalize)"));
}

std::u32string open_clip_clean(std::string_view text, TextClean mode) {
  std::u32string s = html_unescape(html_unescape(fix_text(decode_utf8(text))));
  switch (mode) {
    case TextClean::lower:
      return python_lower(collapse_whitespace(s));
    case TextClean::whitespace:
      return collapse_whitespace(s);
    case TextClean::canonicalize: {
      // big_vision's canonicalize_text: '_' becomes a space before punctuation goes, and lower() sees the
      // text without it (which matters to the final-sigma rule).
      std::u32string kept;
      kept.reserve(s.size());
      for (char32_t cp : s)
        if (cp == '_')
          kept += ' ';
        else if (!is_ascii_punctuation(cp))
          kept += cp;
      return collapse_whitespace(python_lower(kept));
    }
  }
  return s;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | cp >> 6);
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | cp >> 12);
    out += static_cast<char>(0x80 | (cp >> 6 & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | cp >> 18);
    out += static_cast<char>(0x80 | (cp >> 12 & 0x3F));
    out += static_cast<char>(0x80 | (cp >> 6 & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Each maximal invalid subsequence becomes one U+FFFD, as Python's bytes.decode('utf-8', 'replace').
std::u32string decode_utf8(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<uint8_t>(s[i]);
    if (b < 0x80) {
      out += b;
      ++i;
      continue;
    }
    size_t len = 0;
    char32_t cp = 0;
    uint8_t lo = 0x80, hi = 0xBF;  // the allowed range of the next byte (rules out overlongs and surrogates)
    if (b >= 0xC2 && b <= 0xDF) {
      len = 2, cp = b & 0x1F;
    } else if (b >= 0xE0 && b <= 0xEF) {
      len = 3, cp = b & 0x0F;
      if (b == 0xE0) lo = 0xA0;
      if (b == 0xED) hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      len = 4, cp = b & 0x07;
      if (b == 0xF0) lo = 0x90;
      if (b == 0xF4) hi = 0x8F;
    } else {
      out += kReplacement;
      ++i;
      continue;
    }
    size_t j = 1;
    for (; j < len && i + j < s.size(); ++j) {
      const auto c = static_cast<uint8_t>(s[i + j]);
      if (c < lo || c > hi) break;
      cp = cp << 6 | (c & 0x3F);
      lo = 0x80, hi = 0xBF;
    }
    out += j == len ? cp : kReplacement;
    i += j;
  }
  return out;
}

std::string encode_utf8(std::u32string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t cp : s) append_utf8(out, cp);
  return out;
}

}  // namespace loom::data

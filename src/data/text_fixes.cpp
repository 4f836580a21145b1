#include "data/text_fixes.h"

#include <unicode/normalizer2.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <stdexcept>

#include "core/text/cat.h"
#include "data/ftfy_tables.h"
#include "data/html_charref.h"

namespace loom::data {

namespace {

// ftfy's TextFixerConfig.max_decode_length: a line longer than this is fixed in pieces of this length.
constexpr size_t kMaxSegment = 1'000'000;
constexpr size_t kMaxEntityName = 24;  // the {1,24} of ftfy's pattern &#?[0-9A-Za-z]{1,24};
constexpr char32_t kEscape = 0x1B;

template <size_t N>
bool in_ranges(const ftfy::Range (&table)[N], char32_t cp) {
  auto it = std::upper_bound(std::begin(table), std::end(table), cp,
                             [](char32_t c, const ftfy::Range& r) { return c < r.first; });
  return it != std::begin(table) && cp <= std::prev(it)->last;
}

bool is_ascii_alnum(char32_t c) { return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'); }
bool is_ascii_letter(char32_t c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
bool is_hex_digit(char32_t c) { return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'); }

// --- unescape_html ---------------------------------------------------------------------------------

// "&#<body>;" as ftfy decodes it: through html.unescape, kept only when that consumed the ';', i.e.
// when the body is all decimal digits or x/X and hex digits. False: ftfy keeps the reference as written.
bool append_numeric_reference(std::u32string& out, std::u32string_view body) {
  const bool hex = body[0] == 'x' || body[0] == 'X';
  const std::u32string_view digits = body.substr(hex ? 1 : 0);
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(),
                                     [&](char32_t c) { return hex ? is_hex_digit(c) : c >= '0' && c <= '9'; }))
    return false;
  char32_t number = 0;  // saturates above the Unicode range: anything there reads as U+FFFD
  for (char32_t c : digits) {
    const char32_t value = c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
    number = std::min<char32_t>(number * (hex ? 16 : 10) + value, 0x110000);
  }
  if (number == ';') return false;  // the result has a ';', so ftfy cannot tell it from a partial decode
  append_html_charref(out, number);
  return true;
}

const ftfy::Entity* find_entity(std::u32string_view name) {
  std::string ascii(name.begin(), name.end());  // the caller checked: ASCII letters and digits
  auto it = std::lower_bound(std::begin(ftfy::kEntities), std::end(ftfy::kEntities), ascii,
                             [](const ftfy::Entity& e, const std::string& n) { return e.name < n; });
  return it != std::end(ftfy::kEntities) && it->name == ascii ? &*it : nullptr;
}

// Each "&" + optional "#" + 1..24 ASCII letters or digits + ";", left to right, is replaced when ftfy's
// table names it (or it is a complete numeric reference); anything else stays as written.
void unescape_html(std::u32string& s) {
  if (s.find(U'&') == std::u32string::npos) return;
  std::u32string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    if (s[i] != '&') {
      out += s[i++];
      continue;
    }
    const bool numeric = i + 1 < s.size() && s[i + 1] == '#';
    const size_t begin = i + 1 + numeric;
    size_t end = begin;
    while (end < s.size() && end - begin < kMaxEntityName && is_ascii_alnum(s[end])) ++end;
    if (end == begin || end == s.size() || s[end] != ';') {
      out += s[i++];
      continue;
    }
    const std::u32string_view body(s.data() + begin, end - begin);
    bool replaced = false;
    if (numeric) {
      replaced = append_numeric_reference(out, body);
    } else if (const ftfy::Entity* e = find_entity(body)) {
      out += e->text;
      replaced = true;
    }
    if (!replaced) out.append(s, i, end + 1 - i);
    i = end + 1;
  }
  s.swap(out);
}

// --- the per-character fixers, terminal escapes, control characters ---------------------------------

// fix_c1_controls, fix_latin_ligatures, fix_character_width, uncurl_quotes and fix_line_breaks in one
// pass: each maps code points independently, so their composition per code point (kCharMap) is the same
// as running them one after another; only fix_line_breaks' "\r\n" spans two.
void fix_characters(std::u32string& s) {
  auto untouched = [](char32_t c) { return c < 0x80 && c != '\r'; };
  if (std::all_of(s.begin(), s.end(), untouched)) return;
  std::u32string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const char32_t cp = s[i];
    if (cp == '\r' && i + 1 < s.size() && s[i + 1] == '\n') continue;  // the '\n' stands for both
    auto it = std::lower_bound(std::begin(ftfy::kCharMap), std::end(ftfy::kCharMap), cp,
                               [](const ftfy::CharFix& f, char32_t c) { return f.cp < c; });
    if (it != std::end(ftfy::kCharMap) && it->cp == cp)
      out += it->text;
    else
      out += cp;
  }
  s.swap(out);
}

// ANSI "ESC [ params letter" sequences (colours, cursor moves), as ftfy's \033\[((?:\d|;)*)([a-zA-Z]).
void remove_terminal_escapes(std::u32string& s) {
  if (s.find(kEscape) == std::u32string::npos) return;
  std::u32string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    if (s[i] == kEscape && i + 1 < s.size() && s[i + 1] == '[') {
      size_t j = i + 2;
      while (j < s.size() && (s[j] == ';' || in_ranges(ftfy::kDecimalDigits, s[j]))) ++j;
      if (j < s.size() && is_ascii_letter(s[j])) {
        i = j + 1;
        continue;
      }
    }
    out += s[i++];
  }
  s.swap(out);
}

void remove_control_chars(std::u32string& s) {
  std::erase_if(s, [](char32_t c) { return (c < 0x20 || c >= 0x7F) && in_ranges(ftfy::kControlChars, c); });
}

// --- normalization ----------------------------------------------------------------------------------

const icu::Normalizer2& nfc() {
  static const icu::Normalizer2* instance = [] {
    UErrorCode status = U_ZERO_ERROR;
    const icu::Normalizer2* n = icu::Normalizer2::getNFCInstance(status);
    if (U_FAILURE(status)) throw std::runtime_error(cat("ICU has no NFC normalizer: ", u_errorName(status)));
    return n;
  }();
  return *instance;
}

void normalize_nfc(std::u32string& s) {
  if (std::all_of(s.begin(), s.end(), [](char32_t c) { return c < 0x80; })) return;  // ASCII is NFC
  icu::UnicodeString text;
  for (char32_t c : s) text.append(static_cast<UChar32>(c));
  UErrorCode status = U_ZERO_ERROR;
  if (nfc().isNormalized(text, status) && U_SUCCESS(status)) return;
  status = U_ZERO_ERROR;
  const icu::UnicodeString normalized = nfc().normalize(text, status);
  if (U_FAILURE(status)) throw std::runtime_error(cat("ICU NFC normalization failed: ", u_errorName(status)));
  s.clear();
  for (int32_t i = 0; i < normalized.length(); i = normalized.moveIndex32(i, 1))
    s += static_cast<char32_t>(normalized.char32At(i));
}

// ftfy's fix_and_explain: the steps in its order, repeated until a pass changes nothing. This ends: the
// map is idempotent and NFC makes nothing the map or the removals would change (scripts/gen_ftfy_tables.py
// checks both), so after the first pass only decoding references and removing characters are left to
// do, and each of those uses up characters of the text.
std::u32string fix_segment(std::u32string_view segment, bool unescape) {
  std::u32string text(segment), before;
  do {
    before = text;
    if (unescape) unescape_html(text);
    fix_characters(text);
    remove_terminal_escapes(text);
    remove_control_chars(text);
    normalize_nfc(text);
  } while (text != before);
  return text;
}

}  // namespace

std::u32string fix_text(std::u32string_view text) {
  std::u32string out;
  out.reserve(text.size());
  bool unescape = true;  // "auto": once a segment has a '<', it and every later one keep their references
  for (size_t pos = 0; pos < text.size();) {
    const size_t newline = text.find(U'\n', pos);
    const size_t end = std::min(newline == std::u32string_view::npos ? text.size() : newline + 1, pos + kMaxSegment);
    const std::u32string_view segment = text.substr(pos, end - pos);
    if (segment.find(U'<') != std::u32string_view::npos) unescape = false;
    out += fix_segment(segment, unescape);
    pos = end;
  }
  return out;
}

}  // namespace loom::data

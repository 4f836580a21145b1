#include "data/clip_tokenizer.h"

#include <ATen/ops/zeros.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <string_view>

#include "core/error.h"
#include "core/text/cat.h"
#include "data/html_entities.h"
#include "data/text_fixes.h"
#include "data/unicode_categories.h"

namespace loom::data {

namespace {

using unicode::TokenClass;

// open_clip keeps lines [1, 49152-256-2+1) of the file: 48,894 merges after the version header.
constexpr size_t kMergeCount = 49152 - 256 - 2;
// open_clip's cache is unbounded; a long run over web captions would grow it without limit, and words
// past the first million distinct ones are rare enough to recompute.
constexpr size_t kMaxCacheEntries = size_t{1} << 20;
constexpr char32_t kReplacement = 0xFFFD;

// --- UTF-8 -----------------------------------------------------------------------------------------

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

// The classes of the ASCII range, looked up once: most caption text is ASCII.
const std::array<TokenClass, 128> kAsciiClasses = [] {
  std::array<TokenClass, 128> out{};
  size_t run = 0;
  for (char32_t cp = 0; cp < 128; ++cp) {
    while (run + 1 < std::size(unicode::kTokenClasses) && unicode::kTokenClasses[run + 1].first <= cp) ++run;
    out[cp] = unicode::kTokenClasses[run].cls;
  }
  return out;
}();

TokenClass token_class(char32_t cp) {
  if (cp < 128) return kAsciiClasses[cp];
  auto it = std::upper_bound(std::begin(unicode::kTokenClasses), std::end(unicode::kTokenClasses), cp,
                             [](char32_t c, const unicode::ClassRun& r) { return c < r.first; });
  return std::prev(it)->cls;
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

// What the numeric reference &#<number>; stands for: the HTML 5 replacements, U+FFFD for surrogates
// and out-of-range numbers, nothing for the code points HTML 5 forbids.
void append_charref(std::u32string& out, char32_t number) {
  auto r = std::lower_bound(std::begin(html::kCharrefReplacements), std::end(html::kCharrefReplacements), number,
                            [](const html::CharrefReplacement& e, char32_t n) { return e.number < n; });
  if (r != std::end(html::kCharrefReplacements) && r->number == number) {
    out += r->cp;
  } else if ((number >= 0xD800 && number <= 0xDFFF) || number > 0x10FFFF) {
    out += kReplacement;
  } else if (!((number >= 0x1 && number <= 0x8) || number == 0xB || (number >= 0xE && number <= 0x1F) ||
               (number >= 0x7F && number <= 0x9F) || (number >= 0xFDD0 && number <= 0xFDEF) ||
               (number & 0xFFFE) == 0xFFFE)) {
    out += number;
  }
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
      append_charref(out, number);
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

// --- cleaning and pre-tokenization -----------------------------------------------------------------

// open_clip's clean='lower': ftfy.fix_text (less its mojibake repair), html.unescape twice,
// " ".join(text.split()), lower().
std::u32string clean(const std::string& text) {
  std::u32string s = html_unescape(html_unescape(fix_text(decode_utf8(text))));
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
  return python_lower(collapsed);
}

// Whether `cp` matches the ASCII character `c` of a regex literal under IGNORECASE.
bool caseless_equal(char32_t cp, char c) {
  if (cp == static_cast<unsigned char>(c)) return true;
  if (c < 'a' || c > 'z') return false;
  if (cp == static_cast<char32_t>(c - 32)) return true;
  return std::any_of(std::begin(unicode::kCaselessLetters), std::end(unicode::kCaselessLetters),
                     [&](const unicode::CaselessLetter& e) { return e.cp == cp && e.ascii == c; });
}

bool matches_at(const std::u32string& s, size_t i, std::string_view literal) {
  if (s.size() - i < literal.size()) return false;
  for (size_t k = 0; k < literal.size(); ++k)
    if (!caseless_equal(s[i + k], literal[k])) return false;
  return true;
}

// Length of the pre-token open_clip's regex matches at s[i], or 0 where it skips one character.
size_t pretoken_length(const std::u32string& s, size_t i) {
  for (std::string_view literal : {"<start_of_text>", "<end_of_text>", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d"})
    if (matches_at(s, i, literal)) return literal.size();
  const TokenClass cls = token_class(s[i]);
  if (cls == TokenClass::kSkip) return 0;
  if (cls == TokenClass::kNumber) return 1;  // digits are tokens one by one
  size_t j = i + 1;
  while (j < s.size() && token_class(s[j]) == cls) ++j;
  return j - i;
}

// bytes_to_unicode: bytes that are printable Latin-1 stand for themselves, the other 68 for 256, 257, ...
// in byte order. The vocabulary lists the bytes in that order: printable ones first.
struct ByteSymbols {
  std::array<char32_t, 256> symbol{};  // byte -> code point
  std::array<uint8_t, 256> order{};    // vocabulary position -> byte
};

ByteSymbols byte_symbols() {
  ByteSymbols out;
  auto printable = [](int b) { return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF); };
  size_t pos = 0;
  for (int b = 0; b < 256; ++b)
    if (printable(b)) out.symbol[b] = static_cast<char32_t>(b), out.order[pos++] = static_cast<uint8_t>(b);
  char32_t extra = 256;
  for (int b = 0; b < 256; ++b)
    if (!printable(b)) out.symbol[b] = extra++, out.order[pos++] = static_cast<uint8_t>(b);
  return out;
}

// The first `lines` lines of a gzip file ("\n"-separated, the header included), read only as far as needed.
std::vector<std::string> read_gz_lines(const std::string& path, size_t lines) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw UserError(cat(path, ": cannot open the CLIP BPE vocabulary"));
  std::string text;
  std::vector<char> buf(1 << 16);
  size_t newlines = 0;
  int n = 0;
  while (newlines < lines && (n = gzread(f, buf.data(), static_cast<unsigned>(buf.size()))) > 0) {
    newlines += static_cast<size_t>(std::count(buf.begin(), buf.begin() + n, '\n'));
    text.append(buf.data(), static_cast<size_t>(n));
  }
  int err = Z_OK;
  const std::string message = n < 0 ? gzerror(f, &err) : "";
  gzclose(f);
  if (n < 0) throw UserError(cat(path, ": corrupt gzip file (", message, "); run scripts/setup to reinstall it"));
  std::vector<std::string> out;
  for (size_t start = 0; out.size() < lines && start < text.size();) {
    size_t end = std::min(text.find('\n', start), text.size());
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace

ClipTokenizer::ClipTokenizer(const std::string& vocab_gz_path) : path_(vocab_gz_path) {
  const std::vector<std::string> lines = read_gz_lines(vocab_gz_path, kMergeCount + 1);
  if (lines.size() < kMergeCount + 1)
    throw UserError(cat(vocab_gz_path, ": has ", lines.size(), " lines, a CLIP BPE vocabulary has at least ",
                        kMergeCount + 1, "; run scripts/setup to reinstall it"));
  const ByteSymbols bytes = byte_symbols();
  std::array<int, 0x200> byte_of_symbol;  // code point -> byte (symbols are < 256 + 68)
  byte_of_symbol.fill(-1);
  for (int b = 0; b < 256; ++b) byte_of_symbol[bytes.symbol[b]] = b;

  // The vocabulary as open_clip writes it (symbol strings), then each entry's bytes.
  std::vector<std::string> vocab;
  vocab.reserve(512 + kMergeCount + 2);
  for (bool word_end : {false, true})
    for (uint8_t b : bytes.order) {
      std::string sym;
      append_utf8(sym, bytes.symbol[b]);
      vocab.push_back(word_end ? sym + "</w>" : sym);
    }
  std::vector<std::pair<std::string, std::string>> pairs;
  pairs.reserve(kMergeCount);
  for (size_t i = 1; i <= kMergeCount; ++i) {
    const std::string& line = lines[i];
    const size_t space = line.find(' ');
    if (space == std::string::npos || space == 0 || space + 1 == line.size() ||
        line.find(' ', space + 1) != std::string::npos)
      throw UserError(cat(vocab_gz_path, ":", i + 1, ": expected a merge \"left right\", found \"", line, "\""));
    pairs.emplace_back(line.substr(0, space), line.substr(space + 1));
    vocab.push_back(pairs.back().first + pairs.back().second);
  }
  vocab.push_back("<start_of_text>");
  vocab.push_back("<end_of_text>");

  // Later duplicates win, as in open_clip's dicts.
  std::unordered_map<std::string, int32_t> encoder;
  encoder.reserve(vocab.size());
  for (size_t id = 0; id < vocab.size(); ++id) encoder[vocab[id]] = static_cast<int32_t>(id);
  merges_.reserve(pairs.size());
  for (size_t rank = 0; rank < pairs.size(); ++rank) {
    auto left = encoder.find(pairs[rank].first), right = encoder.find(pairs[rank].second);
    if (left == encoder.end() || right == encoder.end()) continue;  // can never form
    const uint64_t key = static_cast<uint64_t>(left->second) << 32 | static_cast<uint32_t>(right->second);
    merges_[key] = {static_cast<int32_t>(rank), encoder.at(pairs[rank].first + pairs[rank].second)};
  }

  decoder_.reserve(vocab.size());
  for (const std::string& entry : vocab) {
    std::string raw;
    for (char32_t cp : decode_utf8(entry)) {
      if (cp >= byte_of_symbol.size() || byte_of_symbol[cp] < 0)
        throw UserError(cat(vocab_gz_path, ": the merge \"", entry, "\" has a character that stands for no byte"));
      raw += static_cast<char>(byte_of_symbol[cp]);
    }
    decoder_.push_back(std::move(raw));
  }
  for (int pos = 0; pos < 256; ++pos) byte_id_[bytes.order[pos]] = pos;
}

const ClipTokenizer& ClipTokenizer::shared() {
  static const ClipTokenizer tokenizer([] {
    if (const char* env = std::getenv("LOOM_CLIP_VOCAB"); env && *env) {
      if (!std::filesystem::exists(env))
        throw UserError(
            cat("LOOM_CLIP_VOCAB=", env, ": no such file (the CLIP BPE vocabulary bpe_simple_vocab_16e6.txt.gz)"));
      return std::string(env);
    }
    const char* home = std::getenv("LOOM_HOME");
    const char* user_home = std::getenv("HOME");
    const std::filesystem::path dir = home && *home
                                          ? std::filesystem::path(home)
                                          : std::filesystem::path(user_home ? user_home : "") / ".cache" / "loom";
    const std::filesystem::path path = dir / "bpe_simple_vocab_16e6.txt.gz";
    if (!std::filesystem::exists(path))
      throw UserError(cat(path.string(),
                          ": the CLIP BPE vocabulary is missing; run scripts/setup (it copies it from the ",
                          "installed open_clip) or set LOOM_CLIP_VOCAB to a copy of bpe_simple_vocab_16e6.txt.gz"));
    return path.string();
  }());
  return tokenizer;
}

std::vector<int32_t> ClipTokenizer::merge_word(const std::string& token) const {
  std::vector<int32_t> word(token.size());
  for (size_t i = 0; i < token.size(); ++i) word[i] = byte_id_[static_cast<uint8_t>(token[i])];
  word.back() += 256;  // the word-final symbol carries "</w>"
  std::vector<int32_t> next;
  while (word.size() > 1) {
    // The lowest-ranked adjacent pair merges everywhere, left to right.
    Merge best{INT32_MAX, -1};
    int32_t left = 0, right = 0;
    for (size_t i = 0; i + 1 < word.size(); ++i) {
      auto it = merges_.find(static_cast<uint64_t>(word[i]) << 32 | static_cast<uint32_t>(word[i + 1]));
      if (it != merges_.end() && it->second.rank < best.rank) best = it->second, left = word[i], right = word[i + 1];
    }
    if (best.merged < 0) break;
    next.clear();
    for (size_t i = 0; i < word.size(); ++i) {
      if (i + 1 < word.size() && word[i] == left && word[i + 1] == right) {
        next.push_back(best.merged);
        ++i;
      } else {
        next.push_back(word[i]);
      }
    }
    word.swap(next);
  }
  return word;
}

void ClipTokenizer::bpe(const std::string& token, std::vector<int64_t>& out) const {
  // Like open_clip, a special token only when the regex matched it exactly (IGNORECASE lets e.g.
  // "<ſtart_of_text>" through the special alternative; that is BPE-encoded as text).
  if (token == "<start_of_text>" || token == "<end_of_text>") {
    out.push_back(token == "<start_of_text>" ? kStartToken : kEndToken);
    return;
  }
  {
    std::shared_lock lock(cache_mutex_);
    if (auto it = cache_.find(token); it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int32_t> ids = merge_word(token);
  out.insert(out.end(), ids.begin(), ids.end());
  std::unique_lock lock(cache_mutex_);
  if (cache_.size() < kMaxCacheEntries) cache_.emplace(token, std::move(ids));
}

std::vector<int64_t> ClipTokenizer::encode(const std::string& text) const {
  const std::u32string s = clean(text);
  std::vector<int64_t> ids;
  std::string token;
  for (size_t i = 0; i < s.size();) {
    const size_t len = pretoken_length(s, i);
    if (len == 0) {
      ++i;
      continue;
    }
    token.clear();
    for (size_t k = i; k < i + len; ++k) append_utf8(token, s[k]);
    bpe(token, ids);
    i += len;
  }
  return ids;
}

at::Tensor ClipTokenizer::tokenize(const std::vector<std::string>& texts, int64_t context_length,
                                   int64_t* truncated) const {
  if (context_length < 1)
    throw UserError(cat("CLIP tokenizer: context_length must be at least 1, got ", context_length));
  at::Tensor out = at::zeros({static_cast<int64_t>(texts.size()), context_length}, at::kLong);
  int64_t* data = out.data_ptr<int64_t>();
  std::vector<int64_t> row;
  for (size_t n = 0; n < texts.size(); ++n) {
    row.assign(1, kStartToken);
    const std::vector<int64_t> ids = encode(texts[n]);
    row.insert(row.end(), ids.begin(), ids.end());
    row.push_back(kEndToken);
    const size_t kept = std::min(row.size(), static_cast<size_t>(context_length));
    std::copy_n(row.begin(), kept, data + static_cast<int64_t>(n) * context_length);
    if (row.size() > kept) {
      data[static_cast<int64_t>(n) * context_length + context_length - 1] = kEndToken;
      if (truncated) ++*truncated;
    }
  }
  return out;
}

std::string ClipTokenizer::decode(const std::vector<int64_t>& ids) const {
  std::string raw;
  for (int64_t id : ids) {
    if (id < 0 || id >= vocab_size())
      throw std::out_of_range(cat("CLIP tokenizer: token id ", id, " is outside [0, ", vocab_size(), ")"));
    raw += decoder_[static_cast<size_t>(id)];
  }
  std::string text;
  for (char32_t cp : decode_utf8(raw)) append_utf8(text, cp);
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (text.compare(i, 4, "</w>") == 0) {
      out += ' ';
      i += 4;
    } else {
      out += text[i++];
    }
  }
  return out;
}

}  // namespace loom::data

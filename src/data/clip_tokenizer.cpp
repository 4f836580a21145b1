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
#include "data/open_clip_text.h"
#include "data/unicode_categories.h"

namespace loom::data {

namespace {

using unicode::TokenClass;

// open_clip keeps lines [1, 49152-256-2+1) of the file: 48,894 merges after the version header.
constexpr size_t kMergeCount = 49152 - 256 - 2;
// open_clip's cache is unbounded; a long run over web captions would grow it without limit, and words
// past the first million distinct ones are rare enough to recompute.
constexpr size_t kMaxCacheEntries = size_t{1} << 20;
// --- character classes -----------------------------------------------------------------------------

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

// --- cleaning and pre-tokenization -----------------------------------------------------------------

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
  const std::u32string s = open_clip_clean(text, TextClean::lower);
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

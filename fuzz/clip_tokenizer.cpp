// CLIP's BPE tokenizer on arbitrary bytes (valid and invalid UTF-8, HTML references, the special
// tokens): encode, tokenize at two context lengths, decode of the ids, and decode of ids taken from
// the input itself. A tokenized row must start with the start token and end with the end token or 0.
#include <ATen/ATen.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "data/clip_tokenizer.h"
#include "fuzz_support.h"

namespace {

using loom::data::ClipTokenizer;

[[noreturn]] void broken(const char* what) {
  std::fprintf(stderr, "clip tokenizer: %s\n", what);
  std::abort();
}

// The shared tokenizer, or a loud stop: without the vocabulary every input would "pass" as a UserError.
const ClipTokenizer& tokenizer() {
  static const ClipTokenizer* t = [] {
    try {
      return &ClipTokenizer::shared();
    } catch (const loom::UserError& e) {
      std::fprintf(stderr, "fuzz_clip_tokenizer: %s\n", e.what());
      std::exit(2);
    }
  }();
  return *t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const ClipTokenizer& tok = tokenizer();
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::vector<int64_t> ids = tok.encode(text);
  for (int64_t id : ids)
    if (id < 0 || id >= tok.vocab_size()) broken("encode gave an id outside the vocabulary");
  for (int64_t context : {int64_t(ClipTokenizer::kContextLength), int64_t(4)}) {
    const at::Tensor rows = tok.tokenize({text, ""}, context);
    if (rows.dim() != 2 || rows.size(0) != 2 || rows.size(1) != context) broken("tokenize gave the wrong shape");
    const auto r = rows.accessor<int64_t, 2>();
    if (r[0][0] != ClipTokenizer::kStartToken) broken("a row does not begin with the start token");
    const int64_t n = std::min<int64_t>(static_cast<int64_t>(ids.size()) + 2, context);
    if (r[0][n - 1] != ClipTokenizer::kEndToken) broken("a row does not end with the end token");
  }
  (void)tok.decode(ids);
  // Any valid ids decode (invalid UTF-8 they spell becomes U+FFFD).
  std::vector<int64_t> raw;
  for (size_t i = 0; i + 1 < size; i += 2) raw.push_back((data[i] << 8 | data[i + 1]) % tok.vocab_size());
  (void)tok.encode(tok.decode(raw));
  return 0;
}

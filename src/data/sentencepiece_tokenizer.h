#pragma once
// SigLIP's text tokenizer, id for id equal to what open_clip 3.3.0's HFTokenizer gives for the SigLIP
// models (ViT-*-SigLIP*: hf_tokenizer_name timm/ViT-B-16-SigLIP, tokenizer_kwargs clean 'canonicalize'),
// whose hub tokenizer open_clip's SigLipTokenizer made: T5TokenizerFast(model, extra_ids=0, legacy=False),
// pad_token_id = eos_token_id = 1.
//   clean:    open_clip's clean mode (data/open_clip_text.h; 'canonicalize' for SigLIP);
//   normalize: the SentencePiece model's normalizer (nmt_nfkc for T5's vocabularies), spaces as "▁",
//             one "▁" before each word, through Debian's libsentencepiece;
//   encode:   each "▁word" on its own, by the HF tokenizer's unigram Viterbi: the best sum of piece
//             scores in double precision, the first-found candidate kept on ties, a character no piece
//             starts with as <unk>, consecutive <unk>s fused. (SentencePiece's own Viterbi sums in float,
//             so near-ties such as "0000000" as 3 + 4 or 4 + 3 zeros can fall the other way.)
//   tokenize: ids, then the end-of-sequence id </s> (the model's eos_id, 1), padded with the same id to
//             the context length; a longer text keeps its first context_length - 1 ids and the end id,
//             as HFTokenizer's padding='max_length', truncation=True.
// The model file is the one the weights were trained with (TokenizerOptions.path): T5's cc_en.32000 for
// the English SigLIP models, mc4.250000 for -i18n. SigLIP 2's Gemma tokenizer (a byte-fallback BPE model,
// pad id 0) is not this one and is refused.
//
// Differences from open_clip: ftfy's mojibake repair (data/text_fixes.h); the HF normalizer's handling of
// a grapheme cluster shorter than 6 bytes whose first characters have a normalization of their own
// (e.g. U+FFFD or "ǉ" followed by a combining mark): HF replaces the whole cluster by that prefix's
// normalization, dropping the marks, where SentencePiece keeps them; and with the 'lower' or 'whitespace'
// cleanings, which keep '<' '/' '>', a literal "</s>", "<pad>" or "<unk>" in the text is one special token
// to the HF tokenizer and ordinary text here ('canonicalize' removes those characters).
// Thread-safe: tokenize may run concurrently on one instance.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <ATen/core/Tensor.h>

#include "data/open_clip_text.h"
#include "data/text_tokenizer.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace loom::data {

class SentencePieceTokenizer : public TextTokenizer {
 public:
  // Loads the model; throws UserError naming the file when it is missing or not a SentencePiece model,
  // when it has no end-of-sequence or unknown piece, or when it is a byte-fallback model.
  SentencePieceTokenizer(const std::string& model_path, TextClean clean);
  ~SentencePieceTokenizer() override;

  // The ids of one text, cleaned first; without the end id and without truncation.
  std::vector<int64_t> encode(const std::string& text) const;
  // The same for a text (UTF-8) that is already cleaned.
  std::vector<int64_t> encode_cleaned(const std::string& cleaned) const;
  at::Tensor tokenize(const std::vector<std::string>& texts, int64_t context_length,
                      int64_t* truncated = nullptr) const override;
  std::string describe() const override { return "SentencePiece (" + path_ + ")"; }

  int64_t vocab_size() const;
  int64_t end_id() const;

 private:
  struct Vocabulary;
  // One "▁word" of the normalized text -> ids (the HF unigram Viterbi), appended to `out`.
  void encode_word(std::string_view word, std::vector<int64_t>& out) const;

  std::string path_;
  TextClean clean_;
  std::unique_ptr<sentencepiece::SentencePieceProcessor> processor_;
  std::unique_ptr<const Vocabulary> vocabulary_;
};

}  // namespace loom::data

#include "data/sentencepiece_tokenizer.h"

#include <sentencepiece_processor.h>

#include <ATen/ops/full.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <limits>
#include <unordered_map>

#include "core/error.h"
#include "core/text/cat.h"

namespace loom::data {

namespace {

constexpr std::string_view kWordStart = "\xE2\x96\x81";  // "▁", SentencePiece's escaped space
// The HF tokenizer's (and SentencePiece's) unknown-piece penalty below the lowest piece score.
constexpr double kUnknownPenalty = 10.0;

size_t utf8_length(unsigned char lead) {
  if (lead < 0xC0) return 1;
  return lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
}

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

}  // namespace

struct SentencePieceTokenizer::Vocabulary {
  struct Piece {
    int64_t id;
    double score;
  };
  std::unordered_map<std::string, Piece, StringHash, std::equal_to<>> pieces;  // those the text can match
  size_t longest = 0;                                                          // bytes of the longest piece
  int64_t unknown_id = 0, end_id = 1;
  double unknown_score = 0;
};

SentencePieceTokenizer::SentencePieceTokenizer(const std::string& model_path, TextClean clean)
    : path_(model_path), clean_(clean), processor_(std::make_unique<sentencepiece::SentencePieceProcessor>()) {
  if (!std::filesystem::is_regular_file(model_path))
    throw UserError(cat(model_path, ": no such SentencePiece model file"));
  if (const auto status = processor_->Load(model_path); !status.ok())
    throw UserError(cat(model_path, ": not a SentencePiece model (", status.ToString(), ")"));
  if (processor_->eos_id() < 0 || processor_->unk_id() < 0)
    throw UserError(cat(model_path, ": the SentencePiece model has no ", processor_->eos_id() < 0 ? "</s>" : "<unk>",
                        " piece; SigLIP's T5 models end and pad every text with </s>"));
  auto vocabulary = std::make_unique<Vocabulary>();
  vocabulary->unknown_id = processor_->unk_id();
  vocabulary->end_id = processor_->eos_id();
  double lowest = std::numeric_limits<double>::infinity();
  for (int id = 0; id < processor_->GetPieceSize(); ++id) {
    if (processor_->IsByte(id))
      throw UserError(cat(model_path,
                          ": a byte-fallback SentencePiece model (SigLIP 2's Gemma tokenizer?); the "
                          "sentencepiece tokenizer reproduces SigLIP's T5 unigram models only"));
    if (processor_->IsUnknown(id) || processor_->IsControl(id) || processor_->IsUnused(id)) continue;
    const std::string& piece = processor_->IdToPiece(id);
    const double score = processor_->GetScore(id);
    vocabulary->pieces.emplace(piece, Vocabulary::Piece{id, score});
    vocabulary->longest = std::max(vocabulary->longest, piece.size());
    lowest = std::min(lowest, score);
  }
  vocabulary->unknown_score = lowest - kUnknownPenalty;
  vocabulary_ = std::move(vocabulary);
}

SentencePieceTokenizer::~SentencePieceTokenizer() = default;

int64_t SentencePieceTokenizer::vocab_size() const { return processor_->GetPieceSize(); }
int64_t SentencePieceTokenizer::end_id() const { return vocabulary_->end_id; }

void SentencePieceTokenizer::encode_word(std::string_view word, std::vector<int64_t>& out) const {
  const Vocabulary& v = *vocabulary_;
  struct Best {
    double score = 0;
    int64_t start = -1;  // -1: no path ends here yet
    int64_t id = -1;
  };
  std::vector<Best> best(word.size() + 1);
  auto offer = [&](size_t end, double score, size_t start, int64_t id) {
    Best& b = best[end];
    if (b.start < 0 || score > b.score) b = {score, static_cast<int64_t>(start), id};  // ties: the first found
  };
  for (size_t start = 0; start < word.size();) {
    const double before = best[start].score;
    const size_t char_bytes = std::min(utf8_length(static_cast<unsigned char>(word[start])), word.size() - start);
    bool one_character_piece = false;
    for (size_t length = 1; length <= v.longest && start + length <= word.size(); ++length) {
      auto it = v.pieces.find(word.substr(start, length));
      if (it == v.pieces.end()) continue;
      offer(start + length, before + it->second.score, start, it->second.id);
      one_character_piece |= length == char_bytes;
    }
    if (!one_character_piece) offer(start + char_bytes, before + v.unknown_score, start, v.unknown_id);
    start += char_bytes;
  }
  std::vector<int64_t> ids;  // back to front
  for (int64_t end = static_cast<int64_t>(word.size()); end > 0; end = best[static_cast<size_t>(end)].start) {
    const int64_t id = best[static_cast<size_t>(end)].id;
    if (id != v.unknown_id || ids.empty() || ids.back() != v.unknown_id) ids.push_back(id);  // <unk>s fused
  }
  out.insert(out.end(), ids.rbegin(), ids.rend());
}

std::vector<int64_t> SentencePieceTokenizer::encode_cleaned(const std::string& cleaned) const {
  // SentencePiece's pieces spell its normalized text; only the segmentation is redone, word by word.
  std::vector<std::string> pieces;
  if (const auto status = processor_->Encode(cleaned, &pieces); !status.ok())
    throw UserError(cat(path_, ": SentencePiece could not encode a text (", status.ToString(), ")"));
  std::string normalized;
  for (const std::string& piece : pieces) normalized += piece;
  std::vector<int64_t> ids;
  for (size_t begin = 0; begin < normalized.size();) {
    size_t end = normalized.find(kWordStart, begin + 1);
    if (end == std::string::npos) end = normalized.size();
    encode_word(std::string_view(normalized).substr(begin, end - begin), ids);
    begin = end;
  }
  return ids;
}

std::vector<int64_t> SentencePieceTokenizer::encode(const std::string& text) const {
  return encode_cleaned(encode_utf8(open_clip_clean(text, clean_)));
}

at::Tensor SentencePieceTokenizer::tokenize(const std::vector<std::string>& texts, int64_t context_length,
                                            int64_t* truncated) const {
  if (context_length < 1)
    throw UserError(cat("SentencePiece tokenizer: context_length must be at least 1, got ", context_length));
  at::Tensor out = at::full({static_cast<int64_t>(texts.size()), context_length}, end_id(), at::kLong);
  int64_t* data = out.data_ptr<int64_t>();
  for (size_t n = 0; n < texts.size(); ++n) {
    const std::vector<int64_t> ids = encode(texts[n]);
    // Room for the ids and the end id; the rest of the row is padding, which is the end id too.
    const size_t room = static_cast<size_t>(context_length) - 1;
    std::copy_n(ids.begin(), std::min(ids.size(), room), data + static_cast<int64_t>(n) * context_length);
    if (ids.size() > room && truncated) ++*truncated;
  }
  return out;
}

}  // namespace loom::data

#pragma once
// A text tokenizer as the CLIP-family models use it: a batch of texts to a fixed-length id tensor, the
// way open_clip's tokenizer for that model pads and truncates.
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace loom::data {

class TextTokenizer {
 public:
  virtual ~TextTokenizer() = default;
  // int64 [N, context_length]. `truncated`, when given, is increased by the number of texts that did
  // not fit and were cut as open_clip cuts them.
  virtual at::Tensor tokenize(const std::vector<std::string>& texts, int64_t context_length,
                              int64_t* truncated = nullptr) const = 0;
  virtual std::string describe() const = 0;  // for logs: "CLIP BPE (FILE)", "SentencePiece (FILE)"
};

}  // namespace loom::data

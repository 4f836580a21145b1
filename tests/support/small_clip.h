#pragma once
// The small random CLIP of the export tests: ViT image tower on 32x32 images (patch 8, width 32, 2
// layers), text tower over 16 tokens of a 100-id vocabulary whose EOT id is 60, embeddings of 24.
#include <cstdint>

#include "models/clip/clip.h"

namespace loom::test {

constexpr int64_t kContext = 16, kVocab = 100, kEot = 60;

inline ClipOptions small_clip() {
  ClipOptions o;
  o.embed_dim = 24;
  o.vision.image_size = 32;
  o.vision.patch_size = 8;
  o.vision.width = 32;
  o.vision.layers = 2;
  o.vision.heads = 4;
  o.text.context_length = kContext;
  o.text.vocab_size = kVocab;
  o.text.width = 32;
  o.text.heads = 2;
  o.text.layers = 2;
  o.text.eot_token_id = kEot;
  return o;
}

}  // namespace loom::test

#pragma once
// The small random CLIP of the export tests: ViT image tower on 32x32 images (patch 8, width 32, 2
// layers), text tower over 16 tokens of a 100-id vocabulary whose EOT id is 60, embeddings of 24; and
// the SigLIP of the same sizes (MAP pooling without head, so embeddings of the width, 32; SigLIP's
// bidirectional text tower pooled at the last position).
#include <cstdint>

#include "models/clip/clip.h"
#include "models/clip/siglip.h"

namespace loom::test {

constexpr int64_t kContext = 16, kVocab = 100, kEot = 60;

// The sizes both layouts share (their vision and text options name them alike).
template <class Options>
Options small_image_text(Options o, int64_t embed_dim) {
  o.embed_dim = embed_dim;
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

inline ClipOptions small_clip() { return small_image_text(ClipOptions{}, 24); }
inline SigLipModelOptions small_siglip() { return small_image_text(SigLipModelOptions{}, 32); }

}  // namespace loom::test

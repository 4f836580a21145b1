#pragma once
// How an image–text model's inputs are made: the image preprocessing and the text tokenizer its weights
// were trained with (open_clip keeps them beside the model: `preprocess_cfg`, its text_cfg's tokenizer).
#include <cstdint>
#include <string>
#include <vector>

#include "core/config/config_schema.h"

namespace loom {

// open_clip's PreprocessCfg for evaluation (open_clip src/open_clip/transform.py image_transform with
// is_train=False): resize with PIL's antialiased filters, centre crop (or pad) to the image size, then
// ToTensor and Normalize. The size is the image tower's.
struct ImagePreprocessOptions {
  std::vector<double> mean{0.48145466, 0.4578275, 0.40821073};  // OPENAI_DATASET_MEAN
  std::vector<double> std{0.26862954, 0.26130258, 0.27577711};  // OPENAI_DATASET_STD
  std::string interpolation = "bicubic";
  std::string resize_mode = "shortest";  // shortest: shorter side, then centre crop; longest: keep ratio, pad; squash
  int64_t fill_color = 0;                // padding value of resize_mode longest

  template <class V>
  void visit(V& v) {
    v("mean", mean, {.help = "per-channel mean subtracted after scaling to [0, 1]", .min_items = 3});
    v("std", std, {.help = "per-channel standard deviation divided by", .min_items = 3});
    v("interpolation", interpolation,
      {.help = "resize filter, PIL's antialiased ones (random: bicubic at evaluation, as open_clip)",
       .choices = {"bicubic", "bilinear", "random", "nearest", "lanczos"}});
    v("resize_mode", resize_mode,
      {.help = "shortest: shorter side to size + centre crop; longest: longer side + pad; squash: both sides",
       .choices = {"shortest", "longest", "squash"}});
    v("fill_color", fill_color, {.help = "padding value (0-255) of resize_mode longest", .min = 0, .max = 255});
  }
};

// The text tokenizer a model's weights were trained with.
struct TokenizerOptions {
  std::string name = "clip";    // clip: open_clip's SimpleTokenizer (BPE); sentencepiece: SigLIP's
  std::string path;             // clip: the BPE vocabulary (default: the installed one); sentencepiece: the model
  std::string clean = "lower";  // open_clip's clean modes: lower | canonicalize | whitespace

  template <class V>
  void visit(V& v) {
    v("name", name, {.help = "clip (open_clip's BPE) | sentencepiece (SigLIP)", .choices = {"clip", "sentencepiece"}});
    v("path", path, {.help = "vocabulary or model file (clip: default the installed BPE vocabulary)"});
    v("clean", clean,
      {.help = "text cleaning before tokenizing, as open_clip", .choices = {"lower", "canonicalize", "whitespace"}});
  }
};

}  // namespace loom

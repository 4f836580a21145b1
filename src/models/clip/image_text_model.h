#pragma once
// What evaluation, `loom embed` and the clip recipe need from an image–text model, whichever layout its
// weights use (open_clip's CLIP, its CustomTextCLIP for SigLIP): the two encoders, the contrastive
// temperature and bias, and the image preprocessing and text tokenizer the weights were trained with.
#include <cstdint>

#include <ATen/core/Tensor.h>

#include "models/clip/input_options.h"
#include "models/model.h"

namespace loom {

class ImageTextModel : public Model {
 public:
  // images [B, 3, H, W] (preprocessed) -> [B, embed_dim]; L2-normalised when `normalize`.
  virtual at::Tensor encode_image(const at::Tensor& images, bool normalize) = 0;
  // tokens [B, L] int64 -> [B, embed_dim]; L2-normalised when `normalize`.
  virtual at::Tensor encode_text(const at::Tensor& tokens, bool normalize) = 0;
  // exp(logit_scale), clamped at 100.
  virtual at::Tensor logit_scale_value() const = 0;
  // logit_bias, or an undefined tensor when the model has none.
  virtual at::Tensor logit_bias_value() const = 0;
  virtual int64_t image_size() const = 0;
  virtual int64_t context_length() const = 0;
  virtual int64_t embed_dim() const = 0;
  virtual const ImagePreprocessOptions& preprocess() const = 0;
  virtual const TokenizerOptions& tokenizer() const = 0;
};

}  // namespace loom

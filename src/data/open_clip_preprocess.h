#pragma once
// open_clip's evaluation preprocessing (open_clip/transform.py image_transform with is_train=False) as a
// transform list of data/transforms.h, on PIL's resampling (data/pil_resize.h):
//   shortest: Resize(size) + CenterCrop(size)    -> resize (mode shorter) + center_crop
//   longest:  ResizeKeepRatio(size, longest=1) + CenterCropOrPad(size, fill_color)
//                                                -> resize (mode longest) + center_crop with fill
//   squash:   Resize((size, size))               -> resize (mode exact)
// then ToTensor + Normalize(mean, std) -> normalize. On 8-bit RGB the images before ToTensor are PIL's
// bit for bit; the normalised tensors differ only by float rounding.
#include <cstdint>
#include <string>
#include <vector>

#include "core/config/config_node.h"

namespace loom::data {

// The list a config's `transforms:` key would hold. `interpolation`: open_clip's bicubic, bilinear or
// random (which open_clip evaluates as bicubic), and beyond open_clip PIL's nearest and lanczos.
// `fill_color` (0..255) pads in mode longest only, as in open_clip. Throws ConfigError naming the
// argument for anything else.
ConfigNode open_clip_transforms(int64_t image_size, const std::vector<double>& mean, const std::vector<double>& std,
                                const std::string& interpolation, const std::string& resize_mode, int64_t fill_color);

}  // namespace loom::data

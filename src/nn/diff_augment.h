#pragma once
// DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training"), with
// the semantics of mit-han-lab/data-efficient-gans DiffAugment_pytorch.py: the same random
// transformation family applied to every image D sees (real and fake), differentiable w.r.t. the
// images. Policies, applied in this order: "color" (brightness ±0.5, saturation ×[0, 2], contrast
// ×[0.5, 1.5]), "translation" (integer shifts up to 1/8 of the side, zero fill), "cutout" (one zeroed
// square of half the side per image). Every draw is per sample, from the images' device generator.
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace loom::nn {

struct DiffAugmentPolicy {
  bool color = true, translation = true, cutout = true;
  double translation_ratio = 0.125, cutout_ratio = 0.5;
};

// "color,translation,cutout" (any subset, comma-separated; "" = none). Throws UserError naming `key`
// for an unknown policy.
DiffAugmentPolicy parse_diff_augment_policy(const std::string& text, const std::string& key);

// images [N, C, H, W] -> augmented images, same shape.
at::Tensor diff_augment(const at::Tensor& images, const DiffAugmentPolicy& policy);

}  // namespace loom::nn

#pragma once
// Per-layer distances between two stacks of backbone activations, each [N] (one per sample) unless said
// otherwise: LPIPS's (lpips 0.1.4, lpips/lpips.py), MobileStyleGAN's feature L1 (core/loss/
// perceptual_loss.py) and MediaPipe's content and Gram style terms (mediapipe/model_maker/python/core/
// utils/loss_functions.py). Float16/bfloat16 features are reduced in float32: LPIPS's eps 1e-10 is zero
// in float16 (a pixel whose channels are all zero would give 0/0) and a Gram sum over a 256x256 map
// leaves float16's range.
#include <ATen/core/Tensor.h>

namespace loom::perceptual {

// lpips's normalize_tensor, squared difference, lin head and spatial_average, as the fused op
// ops::perceptual_distance (f1, the target side, may be a no-grad tensor: the op's cheaper backward).
// `channel_weights` [C].
at::Tensor lpips_layer_distance(const at::Tensor& f0, const at::Tensor& f1, const at::Tensor& channel_weights);

// lpips's spatial=True layer map: the same per-pixel distance, bilinearly upsampled (align_corners false)
// to `size` (the LPIPS input's H, W): [N, 1, H, W].
at::Tensor lpips_layer_map(const at::Tensor& f0, const at::Tensor& f1, const at::Tensor& channel_weights,
                           at::IntArrayRef size);

// mean |a - b| over C, H, W (F.l1_loss per sample; its batch mean is F.l1_loss over the batch).
at::Tensor feature_l1(const at::Tensor& a, const at::Tensor& b);

// F F^T / (C H W) with F = the map as [N, C, H W]: [N, C, C], MediaPipe's _compute_gram_matrix.
at::Tensor gram_matrix(const at::Tensor& f);

// mean |G(a) - G(b)| over the C x C entries.
at::Tensor gram_l1(const at::Tensor& a, const at::Tensor& b);

}  // namespace loom::perceptual

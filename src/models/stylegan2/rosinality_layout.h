#pragma once
// rosinality/stylegan2-pytorch generator weights → the NVlabs stylegan2-ada-pytorch layout Loom's
// StyleGAN2 uses (model.py → training/networks.py). Both use the same equalised-LR storage, so values copy
// 1:1; only names and a few shapes change, and rosinality's blur/upsample kernels are replaced by NVlabs'
// `resample_filter` buffers. Checked numerically against a rosinality forward pass in
// tests/python/stylegan2_layouts.py (check-semantics). scripts/convert_stylegan2.py does the same in
// Python, plus the discriminator and NVlabs pickles.
#include <ATen/core/Tensor.h>

#include <map>
#include <string>

namespace loom {

// True when `state` looks like a rosinality Generator state dict (has `style.1.weight` and
// `input.input`), e.g. what torch.save(ckpt["g_ema"]) writes.
bool is_rosinality_generator(const std::map<std::string, at::Tensor>& state);

// Renames and reshapes a rosinality Generator state dict into NVlabs names:
//   style.{i+1}.*            → mapping.fc{i}.*
//   input.input [1,C,4,4]    → synthesis.b4.const [C,4,4]
//   conv1 / to_rgb1          → synthesis.b4.conv1 / synthesis.b4.torgb
//   convs.{2k} / convs.{2k+1} → synthesis.b{2^(k+3)}.conv0 / .conv1;  to_rgbs.{k} → synthesis.b{2^(k+3)}.torgb
//   .conv.weight [1,O,I,k,k] → .weight [O,I,k,k];  .conv.modulation → .affine;  .noise.weight [1] → .noise_strength []
//   .activate.bias → .bias;  to_rgb .bias [1,3,1,1] → .bias [3]
//   noises.noise_0 / noise_{2k+1} / noise_{2k+2} [1,1,r,r] → b4.conv1 / b{r}.conv0 / b{r}.conv1 .noise_const [r,r]
//   latent_avg (optional; it lives beside g_ema in rosinality checkpoints) → mapping.w_avg, zeros without it
//   (then truncation psi < 1 pulls towards 0 rather than the mean w)
// and adds every NVlabs `resample_filter` buffer (outer([1,3,3,1]) / 64, in the weights' dtype). The
// dropped rosinality kernels must be that standard filter. Output tensors may share storage with the
// input. Throws UserError naming `source` and the key for an unexpected or missing key or a bad shape.
std::map<std::string, at::Tensor> generator_from_rosinality(const std::map<std::string, at::Tensor>& state,
                                                            const std::string& source = "");

}  // namespace loom

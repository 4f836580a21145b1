"""Reference values for tests/losses (loom::nn::crop_positional_embedding) from torchvision.

  cropped_pe_reference.py OUT.safetensors

Writes a random PE "grid" [H, W, C], fixed normalised "boxes" [B, 4] (x0, y0, x1, y1) and, for each
output size "<oh>x<ow>": the cropped PE "<size>.out" [B, oh, ow, C] computed as
roi_align(interpolate(grid), boxes · UPSAMPLE, sampling_ratio=1, aligned=False), a random projection
"<size>.proj" of the same shape and "<size>.grad" = d sum(out · proj) / d grid.
"""
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torchvision.ops import roi_align

UPSAMPLE = 64
BOXES = [
    [0.0, 0.0, 1.0, 1.0],          # the whole grid (the evaluation PE)
    [0.0, 0.0, 0.3, 0.5],          # touching 0
    [0.7, 0.6, 1.0, 1.0],          # touching 1
    [0.1, 0.2, 0.9, 0.4],          # wide
    [0.45, 0.05, 0.55, 0.95],      # tall
    [0.5, 0.5, 0.505, 0.51],       # tiny: shorter than one upsampled pixel
    [0.995, 0.99, 1.0, 1.0],       # tiny at the far corner: some samples fall outside the grid
    [0.0, 0.993, 0.004, 1.0],      # tiny at another corner
    [0.123, 0.456, 0.789, 0.901],  # arbitrary
]


def main(out_path):
    gen = torch.Generator().manual_seed(7)
    grid = torch.randn(14, 14, 32, generator=gen)
    boxes = torch.tensor(BOXES)
    tensors = {"grid": grid, "boxes": boxes}
    rois = torch.cat([torch.zeros(len(BOXES), 1), boxes], dim=1)
    for out_h, out_w in ((14, 14), (6, 9)):
        leaf = grid.clone().requires_grad_(True)
        up = F.interpolate(leaf.permute(2, 0, 1)[None], size=(UPSAMPLE, UPSAMPLE), mode="bilinear",
                           align_corners=False)
        out = roi_align(up, rois, (out_h, out_w), spatial_scale=UPSAMPLE, sampling_ratio=1, aligned=False)
        out = out.permute(0, 2, 3, 1)
        proj = torch.randn(out.shape, generator=gen)
        (grad,) = torch.autograd.grad((out * proj).sum(), leaf)
        size = f"{out_h}x{out_w}"
        tensors.update({f"{size}.out": out.detach().contiguous(), f"{size}.proj": proj, f"{size}.grad": grad.contiguous()})
    save_file(tensors, out_path)


if __name__ == "__main__":
    main(sys.argv[1])

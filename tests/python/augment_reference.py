"""Independent reference of the ADA augmentation pipe for tests/nn/test_augment_parity.cpp (loom::nn::AugmentPipe).

  augment_reference.py IN.safetensors OUT.safetensors

IN holds cases "<case>.images" [N, C, H, W] float64, "<case>.seed" (int64 [1]), "<case>.p" (float32 [1])
and "<case>.multipliers" (float64 [12]: xflip, rotate90, xint, scale, rotate, aniso, xfrac, brightness,
contrast, lumaflip, hue, saturation); the transform parameters are the NVlabs defaults. OUT gets
"<case>.out": the augmented images
with random numbers drawn from torch.Generator().manual_seed(seed) on the CPU in the pipe's order
(float32 draws, as the C++ pipe and the NVlabs pipe make them).

Written from the published semantics (stylegan2-ada-pytorch training/augment.py, upfirdn2d) with plain
torch: the up/down-sampling is literal zero insertion, padding and convolution (the C++ pipe uses
strided transposed / strided convolutions), the matrices are built entry by entry.
"""
import math
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

SYM6 = [0.015404109327027373, 0.0034907120842174702, -0.11799011114819057, -0.048311742585633,
        0.4910559419267466, 0.787641141030194, 0.3379294217276218, -0.07263752278646252,
        -0.021060292512300564, 0.04472490177066578, 0.0017677118642428036, -0.007800708325034148]
NAMES = ["xflip", "rotate90", "xint", "scale", "rotate", "aniso", "xfrac",
         "brightness", "contrast", "lumaflip", "hue", "saturation"]
XINT_MAX, SCALE_STD, ROTATE_MAX, ANISO_STD, XFRAC_STD = 0.125, 0.2, 1.0, 0.2, 0.125
BRIGHTNESS_STD, CONTRAST_STD, HUE_MAX, SATURATION_STD = 0.2, 0.5, 1.0, 1.0


def mat(rows):
    """rows: nested lists of [N] tensors or numbers -> [N, r, c] float64."""
    n = next(e.shape[0] for row in rows for e in row if torch.is_tensor(e))
    out = torch.zeros(n, len(rows), len(rows[0]), dtype=torch.float64)
    for r, row in enumerate(rows):
        for c, e in enumerate(row):
            out[:, r, c] = e
    return out


def const(rows, n):
    return torch.tensor(rows, dtype=torch.float64).expand(n, -1, -1)


def upfirdn(x, taps, up, down, pad0, pad1, flip, gain):
    """Separable upfirdn2d on [N, C, H, W]: zero-insert, pad (negative = crop), FIR, decimate."""
    n, c, h, w = x.shape
    if up > 1:
        z = torch.zeros(n, c, h, up, w, up, dtype=x.dtype)
        z[:, :, :, 0, :, 0] = x
        x = z.reshape(n, c, h * up, w * up)
    x = F.pad(x, [max(pad0, 0), max(pad1, 0), max(pad0, 0), max(pad1, 0)])
    x = x[:, :, max(-pad0, 0):x.shape[2] - max(-pad1, 0), max(-pad0, 0):x.shape[3] - max(-pad1, 0)]
    f = torch.tensor(taps, dtype=x.dtype)
    f = f / f.sum() * math.sqrt(gain)  # setup_filter normalises to sum 1; the gain splits over two axes
    if not flip:
        f = f.flip(0)
    weight_w = f.view(1, 1, 1, -1).repeat(c, 1, 1, 1)
    weight_h = f.view(1, 1, -1, 1).repeat(c, 1, 1, 1)
    x = F.conv2d(F.conv2d(x, weight_w, groups=c), weight_h, groups=c)
    return x[:, :, ::down, ::down]


def augment(images, seed, p, mult):
    m = dict(zip(NAMES, mult))
    gen = torch.Generator().manual_seed(seed)
    n, ch, h, w = images.shape

    def rand(*shape):
        return torch.rand(*shape, generator=gen)

    def randn(*shape):
        return torch.randn(*shape, generator=gen)

    def thr(name):
        return torch.tensor(m[name], dtype=torch.float32) * p

    zero = torch.zeros(n, dtype=torch.float64)
    one = torch.ones(n, dtype=torch.float64)
    g = torch.eye(3, dtype=torch.float64).expand(n, 3, 3)

    def rot(t):  # inverse-of-rotation-by(-t) == rotation by t
        return mat([[t.cos(), -t.sin(), 0], [t.sin(), t.cos(), 0], [0, 0, 1]])

    if m["xflip"] > 0:
        i = torch.floor(rand(n).double() * 2)
        i = torch.where(rand(n) < thr("xflip"), i, zero)
        g = g @ mat([[1 / (1 - 2 * i), 0, 0], [0, 1, 0], [0, 0, 1]])
    if m["rotate90"] > 0:
        i = torch.floor(rand(n).double() * 4)
        i = torch.where(rand(n) < thr("rotate90"), i, zero)
        g = g @ rot(math.pi / 2 * i)
    if m["xint"] > 0:
        t = (rand(n, 2).double() * 2 - 1) * XINT_MAX
        t = torch.where(rand(n, 1) < thr("xint"), t, torch.zeros_like(t))
        g = g @ mat([[1, 0, -torch.round(t[:, 0] * w)], [0, 1, -torch.round(t[:, 1] * h)], [0, 0, 1]])
    if m["scale"] > 0:
        s = torch.exp2(randn(n).double() * SCALE_STD)
        s = torch.where(rand(n) < thr("scale"), s, one)
        g = g @ mat([[1 / s, 0, 0], [0, 1 / s, 0], [0, 0, 1]])
    p_rot = 1 - torch.sqrt((1 - thr("rotate")).clamp(0, 1))
    if m["rotate"] > 0:
        t = (rand(n).double() * 2 - 1) * math.pi * ROTATE_MAX
        g = g @ rot(torch.where(rand(n) < p_rot, t, zero))
    if m["aniso"] > 0:
        s = torch.exp2(randn(n).double() * ANISO_STD)
        s = torch.where(rand(n) < thr("aniso"), s, one)
        g = g @ mat([[1 / s, 0, 0], [0, s, 0], [0, 0, 1]])
    if m["rotate"] > 0:
        t = (rand(n).double() * 2 - 1) * math.pi * ROTATE_MAX
        g = g @ rot(torch.where(rand(n) < p_rot, t, zero))
    if m["xfrac"] > 0:
        t = randn(n, 2).double() * XFRAC_STD
        t = torch.where(rand(n, 1) < thr("xfrac"), t, torch.zeros_like(t))
        g = g @ mat([[1, 0, -t[:, 0] * w], [0, 1, -t[:, 1] * h], [0, 0, 1]])

    x = images
    if any(m[k] > 0 for k in NAMES[:7]):
        pad = len(SYM6) // 4
        cx, cy = (w - 1) / 2, (h - 1) / 2
        corners = torch.tensor([[-cx, cx, cx, -cx], [-cy, -cy, cy, cy], [1, 1, 1, 1]], dtype=torch.float64)
        cp = g @ corners
        margins = []
        for row, sign, centre, size in ((0, -1, cx, w), (1, -1, cy, h), (0, 1, cx, w), (1, 1, cy, h)):
            v = (sign * cp[:, row, :]).max().item() + 2 * pad - centre
            margins.append(int(math.ceil(min(max(v, 0.0), size - 1))))
        mx0, my0, mx1, my1 = margins
        x = F.pad(x, [mx0, mx1, my0, my1], mode="reflect")
        g = const([[1, 0, (mx0 - mx1) / 2], [0, 1, (my0 - my1) / 2], [0, 0, 1]], n) @ g
        # upsample2d: padding ((fw + up - 1) // 2, (fw - up) // 2), gain up² split over the two axes.
        x = upfirdn(x, SYM6, 2, 1, (len(SYM6) + 1) // 2, (len(SYM6) - 2) // 2, False, 4.0)
        g = const([[2, 0, 0], [0, 2, 0], [0, 0, 1]], n) @ g @ const([[0.5, 0, 0], [0, 0.5, 0], [0, 0, 1]], n)
        g = const([[1, 0, -0.5], [0, 1, -0.5], [0, 0, 1]], n) @ g @ const([[1, 0, 0.5], [0, 1, 0.5], [0, 0, 1]], n)
        oh, ow = (h + 2 * pad) * 2, (w + 2 * pad) * 2
        g = (const([[2 / x.shape[3], 0, 0], [0, 2 / x.shape[2], 0], [0, 0, 1]], n) @ g
             @ const([[ow / 2, 0, 0], [0, oh / 2, 0], [0, 0, 1]], n))
        grid = F.affine_grid(g[:, :2, :].to(x.dtype), [n, ch, oh, ow], align_corners=False)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        # downsample2d with padding -2·pad: ((fw - down + 1) // 2 - 2·pad, (fw - down) // 2 - 2·pad).
        x = upfirdn(x, SYM6, 1, 2, (len(SYM6) - 1) // 2 - 2 * pad, (len(SYM6) - 2) // 2 - 2 * pad, True, 1.0)

    c = torch.eye(4, dtype=torch.float64).expand(n, 4, 4)
    if m["brightness"] > 0:
        b = randn(n).double() * BRIGHTNESS_STD
        b = torch.where(rand(n) < thr("brightness"), b, zero)
        c = mat([[1, 0, 0, b], [0, 1, 0, b], [0, 0, 1, b], [0, 0, 0, 1]]) @ c
    if m["contrast"] > 0:
        s = torch.exp2(randn(n).double() * CONTRAST_STD)
        s = torch.where(rand(n) < thr("contrast"), s, one)
        c = mat([[s, 0, 0, 0], [0, s, 0, 0], [0, 0, s, 0], [0, 0, 0, 1]]) @ c
    v = torch.tensor([1.0, 1.0, 1.0, 0.0], dtype=torch.float64) / math.sqrt(3)
    vv = torch.outer(v, v)
    if m["lumaflip"] > 0:
        i = torch.floor(rand(n, 1, 1).double() * 2)
        i = torch.where(rand(n, 1, 1) < thr("lumaflip"), i, torch.zeros_like(i))
        c = (torch.eye(4, dtype=torch.float64) - 2 * vv * i) @ c
    if m["hue"] > 0 and ch > 1:
        t = (rand(n).double() * 2 - 1) * math.pi * HUE_MAX
        t = torch.where(rand(n) < thr("hue"), t, zero)
        k = 1 / math.sqrt(3)
        s, co = t.sin(), t.cos()
        cc = 1 - co
        c = mat([[k * k * cc + co, k * k * cc - k * s, k * k * cc + k * s, 0],
                 [k * k * cc + k * s, k * k * cc + co, k * k * cc - k * s, 0],
                 [k * k * cc - k * s, k * k * cc + k * s, k * k * cc + co, 0],
                 [0, 0, 0, 1]]) @ c
    if m["saturation"] > 0 and ch > 1:
        s = torch.exp2(randn(n, 1, 1).double() * SATURATION_STD)
        s = torch.where(rand(n, 1, 1) < thr("saturation"), s, torch.ones_like(s))
        c = (vv + (torch.eye(4, dtype=torch.float64) - vv) * s) @ c
    if any(m[k] > 0 for k in NAMES[7:10]) or (ch > 1 and (m["hue"] > 0 or m["saturation"] > 0)):
        flat = x.reshape(n, ch, h * w)
        c = c.to(x.dtype)
        if ch == 3:
            flat = c[:, :3, :3] @ flat + c[:, :3, 3:]
        else:
            rows = c[:, :3, :].mean(dim=1, keepdim=True)
            flat = flat * rows[:, :, :3].sum(dim=2, keepdim=True) + rows[:, :, 3:]
        x = flat.reshape(n, ch, h, w)
    return x


def main(in_path, out_path):
    t = load_file(in_path)
    outs = {}
    for key in t:
        if key.endswith(".images"):  # one case per prefix: "<case>.images", "<case>.seed", ...
            case = key[:-len(".images")]
            outs[case + ".out"] = augment(t[key], int(t[case + ".seed"][0]), t[case + ".p"].float()[0],
                                          t[case + ".multipliers"].tolist()).contiguous()
    save_file(outs, out_path)


if __name__ == "__main__":
    main(*sys.argv[1:])

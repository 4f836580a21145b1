"""Independent reference for StyleGAN2 (NVlabs stylegan2-ada-pytorch semantics and state-dict layout).

Written from NVlabs' training/networks.py, torch_utils/ops
(upfirdn2d, conv2d_resample, bias_act) read as a specification; pure torch, CPU, float32 or float64.
The C++ generator/discriminator parity tests compare against the file this script writes.

  stylegan2_reference.py OUT.safetensors [--resolution 32 --channel-base 512 --channel-max 64
      --z-dim 64 --w-dim 64 --map-layers 2 --c-dim 0 --conv-clamp none --mbstd-group 4
      --dtype float64 --seed 0 --batch 4]
  stylegan2_reference.py --counts     parameter counts for config-f 1024/512/256 and paper256, checked
                                      against COUNT_CONFIGS below (exit 1 on a mismatch)

What OUT holds (see write_reference()): every G parameter/buffer as `G.<nvlabs name>`, every D one as
`D.<name>`, inputs, outputs of mapping / synthesis / D, gradients, and unit-op cases. The config is in
the safetensors metadata.
"""
import argparse
import math
import sys

import torch
import torch.nn.functional as F

# ---------------------------------------------------------------------------------------------------
# Low-level ops.


def make_filter(taps=(1, 3, 3, 1)):
    """2-D FIR filter: outer product of the taps, normalised to sum 1 (float32, as NVlabs keeps it)."""
    k = torch.as_tensor(taps, dtype=torch.float32)
    k2 = k[:, None] * k[None, :]
    return k2 / k2.sum()


def upfirdn2d(x, f, up=1, down=1, pad=(0, 0, 0, 0), gain=1.0):
    """Zero-insertion upsample by `up`, pad (x0, x1, y0, y1; negative = crop), convolve with the 2-D FIR
    `f` scaled by `gain` (a true convolution: the filter is flipped), keep every `down`-th pixel."""
    n, c, h, w = x.shape
    if up > 1:
        z = x.new_zeros(n, c, h * up, w * up)
        z[:, :, ::up, ::up] = x
        x = z
    px0, px1, py0, py1 = pad
    x = F.pad(x, [max(px0, 0), max(px1, 0), max(py0, 0), max(py1, 0)])
    x = x[:, :, max(-py0, 0): x.shape[2] - max(-py1, 0), max(-px0, 0): x.shape[3] - max(-px1, 0)]
    k = (f.to(x.dtype) * gain).flip([0, 1])
    x = F.conv2d(x, k.expand(c, 1, *k.shape).contiguous(), groups=c)
    if down > 1:
        x = x[:, :, ::down, ::down]
    return x


def upsample2d(x, f, up=2):
    """Output is up× the input size; gain up² keeps the DC level after zero insertion."""
    fh = f.shape[0]
    p0 = (fh + up - 1) // 2
    p1 = (fh - up) // 2
    return upfirdn2d(x, f, up=up, pad=(p0, p1, p0, p1), gain=up * up)


def downsample2d(x, f, down=2):
    fh = f.shape[0]
    p0 = (fh - down + 1) // 2
    p1 = (fh - down) // 2
    return upfirdn2d(x, f, down=down, pad=(p0, p1, p0, p1))


def conv2d_resample(x, w, f=None, up=1, down=1, padding=0, groups=1, flip_weight=True):
    """NVlabs' path choice for the cases StyleGAN2 uses. `padding` is relative to the upsampled image;
    flip_weight=False means a true convolution (the weight is flipped before conv2d)."""
    out_ch, in_per_group, kh, kw = w.shape
    fh = f.shape[0] if f is not None else 1
    p0 = p1 = padding
    if up > 1:
        p0 += (fh + up - 1) // 2
        p1 += (fh - up) // 2
    if down > 1:
        p0 += (fh - down + 1) // 2
        p1 += (fh - down) // 2

    def conv(x, w, stride=1, pad=0, transpose=False, flip=flip_weight):
        if not flip and (kh > 1 or kw > 1):
            w = w.flip([2, 3])
        if transpose:
            return F.conv_transpose2d(x, w, stride=stride, padding=pad, groups=groups)
        return F.conv2d(x, w, stride=stride, padding=pad, groups=groups)

    if up == 1 and down == 1:
        assert p0 == p1 and p0 >= 0
        return conv(x, w, pad=p0)
    if up == 1 and down > 1 and kh == 1 and kw == 1:
        # 1×1 with downsampling: filter+decimate first, then the cheap conv on fewer pixels.
        x = upfirdn2d(x, f, down=down, pad=(p0, p1, p0, p1))
        return conv(x, w)
    if up == 1 and down > 1:
        x = upfirdn2d(x, f, pad=(p0, p1, p0, p1))
        return conv(x, w, stride=down)
    if up > 1 and down == 1 and (kh > 1 or kw > 1):
        # Transposed conv with stride `up` (weight [in, out] per group, NOT flipped: NVlabs passes
        # flip_weight=not flip_weight), then the FIR with the remaining padding and gain up².
        if groups == 1:
            wt = w.transpose(0, 1)
        else:
            wt = w.reshape(groups, out_ch // groups, in_per_group, kh, kw).transpose(1, 2)
            wt = wt.reshape(groups * in_per_group, out_ch // groups, kh, kw)
        p0 -= kw - 1
        p1 -= kw - up
        pt = max(min(-p0, -p1), 0)
        x = conv(x, wt, stride=up, pad=pt, transpose=True, flip=not flip_weight)
        return upfirdn2d(x, f, pad=(p0 + pt, p1 + pt, p0 + pt, p1 + pt), gain=up * up)
    raise NotImplementedError(f"conv2d_resample up={up} down={down} k={kh}x{kw}")


LRELU_ALPHA = 0.2
DEF_GAIN = {"linear": 1.0, "lrelu": math.sqrt(2.0)}


def bias_act(x, b=None, act="linear", gain=None, clamp=None):
    """x + b (along dim 1), activation, × gain (default: the activation's), clamp to ±clamp."""
    if b is not None:
        x = x + b.reshape([1, -1] + [1] * (x.ndim - 2))
    if act == "lrelu":
        x = F.leaky_relu(x, LRELU_ALPHA)
    elif act != "linear":
        raise ValueError(act)
    g = DEF_GAIN[act] if gain is None else gain
    if g != 1:
        x = x * g
    if clamp is not None and clamp >= 0:
        x = x.clamp(-clamp, clamp)
    return x


def normalize_2nd_moment(x, eps=1e-8):
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()


DEMOD_EPS = 1e-8  # a module constant so tests can zero it (stylegan2_layouts.py check-semantics)


def modulated_conv2d(x, weight, styles, noise=None, up=1, padding=0, f=None, demodulate=True,
                     flip_weight=True, fused=True):
    """Per-sample weights w·s, demodulated by rsqrt(Σ_{in,k,k}(w·s)² + 1e-8). The fused form folds the
    batch into conv groups; the unfused form scales activations instead (same maths)."""
    n = x.shape[0]
    out_ch, in_ch, kh, kw = weight.shape
    wmod = weight.unsqueeze(0) * styles.reshape(n, 1, in_ch, 1, 1)  # [N, O, I, k, k]
    dcoefs = (wmod.square().sum(dim=[2, 3, 4]) + DEMOD_EPS).rsqrt() if demodulate else None  # [N, O]
    if not fused:
        x = x * styles.reshape(n, in_ch, 1, 1)
        x = conv2d_resample(x, weight, f=f, up=up, padding=padding, flip_weight=flip_weight)
        if demodulate:
            x = x * dcoefs.reshape(n, out_ch, 1, 1)
        return x + noise if noise is not None else x
    if demodulate:
        wmod = wmod * dcoefs.reshape(n, out_ch, 1, 1, 1)
    y = conv2d_resample(x.reshape(1, n * in_ch, *x.shape[2:]), wmod.reshape(n * out_ch, in_ch, kh, kw), f=f, up=up,
                        padding=padding, groups=n, flip_weight=flip_weight)
    y = y.reshape(n, out_ch, *y.shape[2:])
    return y + noise if noise is not None else y


# ---------------------------------------------------------------------------------------------------
# Layers (attribute names = NVlabs state-dict names).


class FullyConnectedLayer(torch.nn.Module):
    def __init__(self, in_features, out_features, bias=True, activation="linear", lr_multiplier=1.0, bias_init=0.0):
        super().__init__()
        self.activation = activation
        # Equalised LR: stored N(0,1)/lr_mul, scaled by lr_mul/sqrt(in) at run time.
        self.weight = torch.nn.Parameter(torch.randn(out_features, in_features) / lr_multiplier)
        self.bias = torch.nn.Parameter(torch.full([out_features], float(bias_init))) if bias else None
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x):
        w = self.weight * self.weight_gain
        b = self.bias * self.bias_gain if self.bias is not None else None
        return bias_act(x @ w.t(), b, act=self.activation)


class Conv2dLayer(torch.nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, bias=True, activation="linear", up=1, down=1,
                 conv_clamp=None):
        super().__init__()
        self.activation, self.up, self.down, self.conv_clamp = activation, up, down, conv_clamp
        self.register_buffer("resample_filter", make_filter())  # every Conv2dLayer has one, used or not
        self.padding = kernel_size // 2
        self.weight_gain = 1 / math.sqrt(in_channels * kernel_size ** 2)
        self.weight = torch.nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = torch.nn.Parameter(torch.zeros(out_channels)) if bias else None

    def forward(self, x, gain=1.0):
        x = conv2d_resample(x, self.weight * self.weight_gain, f=self.resample_filter, up=self.up, down=self.down,
                            padding=self.padding, flip_weight=(self.up == 1))
        clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        return bias_act(x, self.bias, act=self.activation, gain=DEF_GAIN[self.activation] * gain, clamp=clamp)


class MappingNetwork(torch.nn.Module):
    def __init__(self, z_dim, c_dim, w_dim, num_ws, num_layers=8, lr_multiplier=0.01, w_avg_beta=0.995):
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim, self.num_ws = z_dim, c_dim, w_dim, num_ws
        self.num_layers, self.w_avg_beta = num_layers, w_avg_beta
        embed = w_dim if c_dim > 0 else 0
        feats = [z_dim + embed] + [w_dim] * num_layers
        if c_dim > 0:
            self.embed = FullyConnectedLayer(c_dim, embed)
        for i in range(num_layers):
            setattr(self, f"fc{i}", FullyConnectedLayer(feats[i], feats[i + 1], activation="lrelu", lr_multiplier=lr_multiplier))
        if num_ws is not None and w_avg_beta is not None:
            self.register_buffer("w_avg", torch.zeros(w_dim))

    def forward(self, z, c, truncation_psi=1.0, truncation_cutoff=None, skip_w_avg_update=False):
        parts = []
        if self.z_dim > 0:
            parts.append(normalize_2nd_moment(z))
        if self.c_dim > 0:
            parts.append(normalize_2nd_moment(self.embed(c)))
        x = torch.cat(parts, dim=1)
        for i in range(self.num_layers):
            x = getattr(self, f"fc{i}")(x)
        if self.w_avg_beta is not None and self.training and not skip_w_avg_update:
            # w_avg ← batch mean + β·(w_avg − batch mean)
            with torch.no_grad():
                self.w_avg.copy_(torch.lerp(x.detach().mean(dim=0), self.w_avg, self.w_avg_beta))
        if self.num_ws is not None:
            x = x.unsqueeze(1).expand(-1, self.num_ws, -1).clone()
        if truncation_psi != 1:
            if self.num_ws is None or truncation_cutoff is None:
                x = torch.lerp(self.w_avg.expand_as(x), x, truncation_psi)
            else:
                head = torch.lerp(self.w_avg.expand_as(x[:, :truncation_cutoff]), x[:, :truncation_cutoff], truncation_psi)
                x = torch.cat([head, x[:, truncation_cutoff:]], dim=1)
        return x


class SynthesisLayer(torch.nn.Module):
    def __init__(self, in_channels, out_channels, w_dim, resolution, kernel_size=3, up=1, conv_clamp=None):
        super().__init__()
        self.resolution, self.up, self.conv_clamp = resolution, up, conv_clamp
        self.register_buffer("resample_filter", make_filter())
        self.padding = kernel_size // 2
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = torch.nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.register_buffer("noise_const", torch.randn(resolution, resolution))
        self.noise_strength = torch.nn.Parameter(torch.zeros([]))
        self.bias = torch.nn.Parameter(torch.zeros(out_channels))

    def forward(self, x, w, noise_mode="random", fused=True, gain=1.0):
        styles = self.affine(w)
        noise = None
        if noise_mode == "random":
            noise = torch.randn(x.shape[0], 1, self.resolution, self.resolution, dtype=x.dtype) * self.noise_strength
        elif noise_mode == "const":
            noise = self.noise_const * self.noise_strength
        elif noise_mode != "none":
            raise ValueError(noise_mode)
        # No weight_gain here: demodulation makes the result independent of the weight's scale.
        x = modulated_conv2d(x, self.weight, styles, noise=noise, up=self.up, padding=self.padding, f=self.resample_filter,
                             flip_weight=(self.up == 1), fused=fused)
        clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        return bias_act(x, self.bias, act="lrelu", gain=DEF_GAIN["lrelu"] * gain, clamp=clamp)


class ToRGBLayer(torch.nn.Module):
    def __init__(self, in_channels, out_channels, w_dim, kernel_size=1, conv_clamp=None):
        super().__init__()
        self.conv_clamp = conv_clamp
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = torch.nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = torch.nn.Parameter(torch.zeros(out_channels))
        self.weight_gain = 1 / math.sqrt(in_channels * kernel_size ** 2)

    def forward(self, x, w, fused=True):
        styles = self.affine(w) * self.weight_gain  # equalised LR through the styles; no demodulation
        x = modulated_conv2d(x, self.weight, styles, demodulate=False, fused=fused)
        return bias_act(x, self.bias, clamp=self.conv_clamp)


class SynthesisBlock(torch.nn.Module):
    """Architecture 'skip': conv0 (up=2, not in b4) + conv1, torgb added to the upsampled image."""

    def __init__(self, in_channels, out_channels, w_dim, resolution, img_channels, conv_clamp=None):
        super().__init__()
        self.in_channels, self.resolution = in_channels, resolution
        self.register_buffer("resample_filter", make_filter())
        self.num_conv = 0
        if in_channels == 0:
            self.const = torch.nn.Parameter(torch.randn(out_channels, resolution, resolution))
        else:
            self.conv0 = SynthesisLayer(in_channels, out_channels, w_dim, resolution, up=2, conv_clamp=conv_clamp)
            self.num_conv += 1
        self.conv1 = SynthesisLayer(out_channels, out_channels, w_dim, resolution, conv_clamp=conv_clamp)
        self.num_conv += 1
        self.torgb = ToRGBLayer(out_channels, img_channels, w_dim, conv_clamp=conv_clamp)
        self.num_torgb = 1

    def forward(self, x, img, ws, noise_mode="random", fused=True):
        if self.in_channels == 0:
            x = self.const.unsqueeze(0).expand(ws.shape[0], -1, -1, -1)
            x = self.conv1(x, ws[:, 0], noise_mode=noise_mode, fused=fused)
        else:
            x = self.conv0(x, ws[:, 0], noise_mode=noise_mode, fused=fused)
            x = self.conv1(x, ws[:, 1], noise_mode=noise_mode, fused=fused)
        if img is not None:
            img = upsample2d(img, self.resample_filter)
        y = self.torgb(x, ws[:, self.num_conv], fused=fused)
        return x, (img + y if img is not None else y)


def channels_for(res, channel_base, channel_max):
    return min(channel_base // res, channel_max)


class SynthesisNetwork(torch.nn.Module):
    def __init__(self, w_dim, img_resolution, img_channels, channel_base=32768, channel_max=512, conv_clamp=None):
        super().__init__()
        log2 = int(math.log2(img_resolution))
        assert img_resolution >= 4 and 2 ** log2 == img_resolution
        self.w_dim, self.img_resolution = w_dim, img_resolution
        self.block_resolutions = [2 ** i for i in range(2, log2 + 1)]
        self.num_ws = 0
        for res in self.block_resolutions:
            cin = channels_for(res // 2, channel_base, channel_max) if res > 4 else 0
            block = SynthesisBlock(cin, channels_for(res, channel_base, channel_max), w_dim, res, img_channels, conv_clamp)
            self.num_ws += block.num_conv
            setattr(self, f"b{res}", block)
        self.num_ws += 1  # the last block's torgb; the others share the next block's first w

    def forward(self, ws, noise_mode="random", fused=True):
        assert ws.shape[1:] == (self.num_ws, self.w_dim), ws.shape
        x = img = None
        idx = 0
        for res in self.block_resolutions:
            block = getattr(self, f"b{res}")
            x, img = block(x, img, ws[:, idx: idx + block.num_conv + block.num_torgb], noise_mode=noise_mode, fused=fused)
            idx += block.num_conv
        return img


class Generator(torch.nn.Module):
    def __init__(self, z_dim, c_dim, w_dim, img_resolution, img_channels=3, channel_base=32768, channel_max=512,
                 num_layers=8, conv_clamp=None):
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim = z_dim, c_dim, w_dim
        self.img_resolution, self.img_channels = img_resolution, img_channels
        self.synthesis = SynthesisNetwork(w_dim, img_resolution, img_channels, channel_base, channel_max, conv_clamp)
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(z_dim, c_dim, w_dim, self.num_ws, num_layers=num_layers)

    def forward(self, z, c, truncation_psi=1.0, truncation_cutoff=None, noise_mode="random", fused=True):
        ws = self.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
        return self.synthesis(ws, noise_mode=noise_mode, fused=fused)


class DiscriminatorBlock(torch.nn.Module):
    """Architecture 'resnet': fromrgb (top block only), conv0, conv1 (down=2), skip (1×1 down=2, no bias)."""

    def __init__(self, in_channels, tmp_channels, out_channels, resolution, img_channels, conv_clamp=None):
        super().__init__()
        self.in_channels = in_channels
        self.register_buffer("resample_filter", make_filter())
        if in_channels == 0:
            self.fromrgb = Conv2dLayer(img_channels, tmp_channels, 1, activation="lrelu", conv_clamp=conv_clamp)
        self.conv0 = Conv2dLayer(tmp_channels, tmp_channels, 3, activation="lrelu", conv_clamp=conv_clamp)
        self.conv1 = Conv2dLayer(tmp_channels, out_channels, 3, activation="lrelu", down=2, conv_clamp=conv_clamp)
        self.skip = Conv2dLayer(tmp_channels, out_channels, 1, bias=False, down=2)

    def forward(self, x, img):
        if self.in_channels == 0:
            x = self.fromrgb(img)
        y = self.skip(x, gain=math.sqrt(0.5))
        x = self.conv1(self.conv0(x), gain=math.sqrt(0.5))
        return y + x


def minibatch_std(x, group_size, num_channels=1):
    """Per group of G samples (sample i belongs to group i mod N/G): std over the group, averaged over
    channels (in num_channels slices) and pixels, appended as extra channels."""
    n, c, h, w = x.shape
    g = min(group_size, n) if group_size is not None else n
    f = num_channels
    y = x.reshape(g, -1, f, c // f, h, w)
    y = (y - y.mean(dim=0)).square().mean(dim=0)
    y = (y + 1e-8).sqrt().mean(dim=[2, 3, 4])  # [n/G, F]
    y = y.reshape(-1, f, 1, 1).repeat(g, 1, h, w)
    return torch.cat([x, y], dim=1)


class DiscriminatorEpilogue(torch.nn.Module):
    def __init__(self, in_channels, cmap_dim, resolution, img_channels, mbstd_group_size=4, mbstd_num_channels=1,
                 conv_clamp=None):
        super().__init__()
        self.cmap_dim = cmap_dim
        self.mbstd_group_size, self.mbstd_num_channels = mbstd_group_size, mbstd_num_channels
        self.conv = Conv2dLayer(in_channels + mbstd_num_channels, in_channels, 3, activation="lrelu", conv_clamp=conv_clamp)
        self.fc = FullyConnectedLayer(in_channels * resolution ** 2, in_channels, activation="lrelu")
        self.out = FullyConnectedLayer(in_channels, 1 if cmap_dim == 0 else cmap_dim)

    def forward(self, x, cmap):
        if self.mbstd_num_channels > 0:
            x = minibatch_std(x, self.mbstd_group_size, self.mbstd_num_channels)
        x = self.out(self.fc(self.conv(x).flatten(1)))
        if self.cmap_dim > 0:
            x = (x * cmap).sum(dim=1, keepdim=True) / math.sqrt(self.cmap_dim)
        return x


class Discriminator(torch.nn.Module):
    def __init__(self, c_dim, img_resolution, img_channels=3, channel_base=32768, channel_max=512, conv_clamp=None,
                 cmap_dim=None, mbstd_group_size=4, mbstd_num_channels=1, mapping_layers=8):
        super().__init__()
        log2 = int(math.log2(img_resolution))
        self.c_dim = c_dim
        self.block_resolutions = [2 ** i for i in range(log2, 2, -1)]
        ch = lambda r: channels_for(r, channel_base, channel_max)  # noqa: E731
        if cmap_dim is None:
            cmap_dim = ch(4)
        if c_dim == 0:
            cmap_dim = 0
        for res in self.block_resolutions:
            cin = ch(res) if res < img_resolution else 0
            setattr(self, f"b{res}", DiscriminatorBlock(cin, ch(res), ch(res // 2), res, img_channels, conv_clamp))
        if c_dim > 0:
            self.mapping = MappingNetwork(0, c_dim, cmap_dim, None, num_layers=mapping_layers, w_avg_beta=None)
        self.b4 = DiscriminatorEpilogue(ch(4), cmap_dim, 4, img_channels, mbstd_group_size, mbstd_num_channels, conv_clamp)

    def forward(self, img, c=None):
        x = None
        for res in self.block_resolutions:
            x = getattr(self, f"b{res}")(x, img)
        cmap = self.mapping(None, c) if self.c_dim > 0 else None
        return self.b4(x, cmap)


# ---------------------------------------------------------------------------------------------------
# Parameter counts (trainable parameters, no buffers; synthesis@1024 is MobileStyleGAN's 28.27M).

COUNT_CONFIGS = {
    # name: (resolution, channel_base, expected G, synthesis, mapping, D)
    "config-f 1024": (1024, 32768, 30370060, 28268812, 2101248, 29012513),
    "config-f 512": (512, 32768, 30276583, 28175335, 2101248, 28982849),
    "config-f 256": (256, 32768, 30034338, 27933090, 2101248, 28864129),
    "paper256": (256, 16384, 24767458, 22666210, 2101248, 24001089),
}


def numel(module):
    return sum(p.numel() for p in module.parameters())


def counts():
    ok = True
    for name, (res, base, *want) in COUNT_CONFIGS.items():
        with torch.device("meta"):
            g = Generator(512, 0, 512, res, channel_base=base, channel_max=512, num_layers=8)
            d = Discriminator(0, res, channel_base=base, channel_max=512)
        got = [numel(g), numel(g.synthesis), numel(g.mapping), numel(d)]
        noise = sum(b.numel() for n, b in g.named_buffers() if n.endswith("noise_const"))
        match = got == want
        ok &= match
        print(f"{name:14s} G {got[0]:,} synthesis {got[1]:,} mapping {got[2]:,} D {got[3]:,} num_ws {g.num_ws} "
              f"G+noise_const {got[0] + noise:,} {'OK' if match else f'MISMATCH (expected {want})'}")
    return ok


# ---------------------------------------------------------------------------------------------------
# The reference file.


def randomize(module, gen):
    """Non-trivial values everywhere a default would hide a bug (zero biases, zero noise strength, ones)."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            leaf = name.rsplit(".", 1)[-1]
            if leaf == "noise_strength":
                p.copy_(0.05 + 0.3 * torch.rand([], generator=gen))
            elif leaf == "bias" and ".affine." in f".{name}":
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=gen))
            elif leaf == "bias":
                p.copy_(0.2 * torch.randn(p.shape, generator=gen))
            elif leaf == "weight" and name.startswith("mapping.fc"):
                p.copy_(torch.randn(p.shape, generator=gen) / 0.01)
            else:
                p.copy_(torch.randn(p.shape, generator=gen))
        for name, b in module.named_buffers():
            if name.endswith("w_avg"):
                b.copy_(0.5 * torch.randn(b.shape, generator=gen))
            elif name.endswith("noise_const"):
                b.copy_(torch.randn(b.shape, generator=gen))


def build(args):
    clamp = None if args.conv_clamp in (None, "none") else float(args.conv_clamp)
    G = Generator(args.z_dim, args.c_dim, args.w_dim, args.resolution, 3, args.channel_base, args.channel_max,
                  args.map_layers, clamp)
    D = Discriminator(args.c_dim, args.resolution, 3, args.channel_base, args.channel_max, clamp,
                      mbstd_group_size=args.mbstd_group)
    gen = torch.Generator().manual_seed(args.seed)
    randomize(G, gen)
    randomize(D, gen)
    return G, D, gen


def self_check():
    """Fast paths against the generic order (upsample → conv → downsample), which NVlabs also falls back
    to: linear shift-invariant steps commute, so both must agree. Also DC gain of the resamplers."""
    g = torch.Generator().manual_seed(1)
    f = make_filter()
    x = torch.randn(2, 5, 8, 8, generator=g, dtype=torch.float64)
    w = torch.randn(6, 5, 3, 3, generator=g, dtype=torch.float64)
    # up=2, 3×3, padding 1, flip_weight=False (a true convolution).
    fast = conv2d_resample(x, w, f=f, up=2, padding=1, flip_weight=False)
    slow = F.conv2d(upfirdn2d(x, f, up=2, pad=(3, 2, 3, 2), gain=4), w.flip([2, 3]))
    assert fast.shape == (2, 6, 16, 16) and torch.allclose(fast, slow, atol=1e-12), (fast - slow).abs().max()
    # down=2, 3×3, padding 1 (correlation).
    fast = conv2d_resample(x, w, f=f, down=2, padding=1)
    slow = upfirdn2d(F.conv2d(F.pad(x, [2, 2, 2, 2]), w), f, down=2)
    assert fast.shape == (2, 6, 4, 4) and torch.allclose(fast, slow, atol=1e-12), (fast - slow).abs().max()
    # 1×1 down=2.
    w1 = torch.randn(6, 5, 1, 1, generator=g, dtype=torch.float64)
    fast = conv2d_resample(x, w1, f=f, down=2)
    slow = upfirdn2d(F.conv2d(F.pad(x, [1, 1, 1, 1]), w1), f, down=2)
    assert fast.shape == (2, 6, 4, 4) and torch.allclose(fast, slow, atol=1e-12), (fast - slow).abs().max()
    ones = torch.ones(1, 1, 8, 8, dtype=torch.float64)
    assert torch.allclose(upsample2d(ones, f)[..., 2:-2, 2:-2], torch.ones(1, dtype=torch.float64)), "upsample2d DC gain"
    assert torch.allclose(downsample2d(ones, f)[..., 1:-1, 1:-1], torch.ones(1, dtype=torch.float64)), "downsample2d DC gain"


def write_reference(args):
    self_check()
    dtype = {"float32": torch.float32, "float64": torch.float64}[args.dtype]
    G, D, gen = build(args)
    G = G.to(dtype).eval()
    D = D.to(dtype).eval()
    n = args.batch
    R = args.resolution
    out = {}
    for k, v in G.state_dict().items():
        out[f"G.{k}"] = v
    for k, v in D.state_dict().items():
        out[f"D.{k}"] = v

    rnd = lambda *shape: torch.randn(*shape, generator=gen).to(dtype)  # noqa: E731
    z = rnd(n, args.z_dim)
    c = None
    out["z"] = z
    if args.c_dim > 0:
        c = F.one_hot(torch.randint(0, args.c_dim, (n,), generator=gen), args.c_dim).to(dtype)
        out["c"] = c
    x_real = rnd(n, 3, R, R)
    proj = rnd(n, 3, R, R)
    out["x_real"], out["proj"] = x_real, proj
    num_ws = G.num_ws
    cutoff = min(4, num_ws - 1)

    with torch.no_grad():
        ws = G.mapping(z, c)
        out["ws"] = ws
        out["ws_trunc"] = G.mapping(z, c, truncation_psi=0.7)
        out["ws_trunc_cut"] = G.mapping(z, c, truncation_psi=0.5, truncation_cutoff=cutoff)
        img_const = G.synthesis(ws, noise_mode="const")
        out["img_const"] = img_const
        out["img_none"] = G.synthesis(ws, noise_mode="none")
        out["img_trunc"] = G(z, c, truncation_psi=0.7, noise_mode="const")
        out["logits"] = D(img_const, c)
        out["logits_real"] = D(x_real, c)
        # Self-checks: the unfused modconv path (NVlabs' training path) must agree with the fused one.
        unfused = G.synthesis(ws, noise_mode="const", fused=False)
        diff = (unfused - img_const).abs().max().item()
        tol = 1e-9 if dtype == torch.float64 else 1e-4
        assert diff <= tol * max(1.0, img_const.abs().max().item()), f"fused vs unfused synthesis differ by {diff}"
        # Mapping in training mode updates w_avg once (β = 0.995) — on a copy, G stays untouched.
        mapping = MappingNetwork(args.z_dim, args.c_dim, args.w_dim, num_ws, args.map_layers).to(dtype)
        mapping.load_state_dict(G.mapping.state_dict())
        mapping.train()
        mapping(z, c)
        out["w_avg_updated"] = mapping.w_avg.clone()

    # Gradients (eval mode, const noise, fused modconv).
    ws_g = ws.clone().requires_grad_(True)
    (G.synthesis(ws_g, noise_mode="const") * proj).sum().backward()
    out["grad_ws"] = ws_g.grad
    x_g = x_real.clone().requires_grad_(True)
    D(x_g, c).sum().backward()
    out["grad_x"] = x_g.grad
    G.zero_grad(set_to_none=True)
    D.zero_grad(set_to_none=True)

    # Minibatch-std with groups of 2 (batch 4 → 2 groups), same D weights.
    if n % 2 == 0:
        saved = D.b4.mbstd_group_size
        D.b4.mbstd_group_size = 2
        with torch.no_grad():
            out["logits_mbstd2"] = D(x_real, c)
        D.b4.mbstd_group_size = saved

    # Unit pieces.
    with torch.no_grad():
        f = make_filter()
        u = rnd(2, 3, 8, 8)
        out["upfirdn_up_in"] = u
        out["upfirdn_up_out"] = upsample2d(u, f)
        out["upfirdn_down_out"] = downsample2d(u, f)
        cin, cout = 5, 6
        x = rnd(2, cin, 8, 8)
        wgt = rnd(cout, cin, 3, 3)
        styles = 1 + 0.3 * rnd(2, cin)
        out["modconv_x"], out["modconv_weight"], out["modconv_styles"] = x, wgt, styles
        out["modconv_out"] = modulated_conv2d(x, wgt, styles, padding=1, f=f)
        out["modconv_up_out"] = modulated_conv2d(x, wgt, styles, up=2, padding=1, f=f, flip_weight=False)
        out["modconv_nodemod_out"] = modulated_conv2d(x, wgt, styles, padding=1, f=f, demodulate=False)
        out["conv_down_out"] = conv2d_resample(x, wgt, f=f, down=2, padding=1)
        wskip = rnd(cout, cin, 1, 1)
        out["conv_skip_weight"] = wskip
        out["conv_skip_out"] = conv2d_resample(x, wskip, f=f, down=2)
        out["mbstd_in"] = rnd(4, 6, 4, 4)
        out["mbstd_out_g2"] = minibatch_std(out["mbstd_in"], 2)
        out["mbstd_out_g4"] = minibatch_std(out["mbstd_in"], 4)

    meta = {
        "resolution": str(R), "channel_base": str(args.channel_base), "channel_max": str(args.channel_max),
        "z_dim": str(args.z_dim), "w_dim": str(args.w_dim), "c_dim": str(args.c_dim),
        "map_layers": str(args.map_layers), "D_map_layers": "8" if args.c_dim > 0 else "0", "conv_clamp": str(args.conv_clamp), "mbstd_group": str(args.mbstd_group),
        "num_ws": str(num_ws), "truncation_cutoff": str(cutoff), "dtype": args.dtype, "seed": str(args.seed),
        "img_trunc": "G(z, c, truncation_psi=0.7, noise_mode=const)",
        "ws_trunc": "psi 0.7, cutoff none", "ws_trunc_cut": f"psi 0.5, cutoff {cutoff}",
    }
    from safetensors.torch import save_file

    save_file({k: v.detach().contiguous().clone() for k, v in out.items()}, args.out, metadata=meta)
    print(f"wrote {len(out)} tensors to {args.out} (num_ws {num_ws}, G params {numel(G):,}, D params {numel(D):,})")


def add_model_args(p):
    p.add_argument("--resolution", type=int, default=32)
    p.add_argument("--channel-base", type=int, default=512)
    p.add_argument("--channel-max", type=int, default=64)
    p.add_argument("--z-dim", type=int, default=64)
    p.add_argument("--w-dim", type=int, default=64)
    p.add_argument("--map-layers", type=int, default=2)
    p.add_argument("--c-dim", type=int, default=0)
    p.add_argument("--conv-clamp", default="none", help="'none' or a number (256 in NVlabs training configs)")
    p.add_argument("--mbstd-group", type=int, default=4)
    p.add_argument("--dtype", choices=["float32", "float64"], default="float64")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch", type=int, default=4)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", nargs="?", help="output .safetensors")
    p.add_argument("--counts", action="store_true", help="print and check parameter counts")
    add_model_args(p)
    args = p.parse_args()
    if args.counts:
        if not counts():
            sys.exit(1)
        if not args.out:
            return
    if not args.out:
        p.error("OUT.safetensors is required (or --counts)")
    write_reference(args)


if __name__ == "__main__":
    main()

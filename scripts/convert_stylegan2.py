#!/usr/bin/env python3
"""Converts StyleGAN2 checkpoints to a safetensors file in the NVlabs stylegan2-ada-pytorch layout (the
state-dict names Loom's StyleGAN2 uses; NVlabs training/networks.py).

    convert_stylegan2.py network-snapshot-001000.pkl --nvlabs-repo ~/stylegan2-ada-pytorch --out g.safetensors
    convert_stylegan2.py network-snapshot-001000.pkl --nvlabs-repo ... --all --out gd.safetensors
    convert_stylegan2.py 550000.pt --out g.safetensors            # rosinality/stylegan2-pytorch
    convert_stylegan2.py 550000.pt --all --out gd.safetensors

Inputs:
  *.pkl  NVlabs snapshot (pickled modules with their source): needs the NVlabs repo (dnnlib, torch_utils,
         legacy.py) importable, via --nvlabs-repo or PYTHONPATH. Old TF pickles work too (legacy.py
         converts them).
  *.pt   rosinality checkpoint: a dict with "g_ema" (and optionally "g", "d", "latent_avg"), or a bare
         generator state dict. Keys are renamed and reshaped (src/models/stylegan2/rosinality_layout.h); rosinality's
         blur/upsample kernels are dropped (checked to be the standard [1,3,3,1]) and NVlabs'
         `resample_filter` buffers are written instead.

Output: by default the generator used for sampling (G_ema; for a rosinality file g_ema) with unprefixed
names; with --all every network present, prefixed `G.`, `D.`, `G_ema.`. The safetensors metadata holds
the architecture under NVlabs' names (resolution, channel_base, channel_max, z_dim, w_dim, map_layers,
c_dim, conv_clamp, ...) and, under "loom.model", as Loom's `model:` section (JSON: name stylegan2,
mapping_layers, mapping_lr_multiplier, num_fp16_res, conv_clamp, mbstd_group_size, ...), which `loom
generate`, `loom eval` and teacher loading complete a config from and check it against
(src/models/model_metadata.h). Values the source does not record are left out of it.

Rosinality's discriminator maps 1:1 onto NVlabs' 'resnet' discriminator (same equalised LR, FIR, residual
gain 1/sqrt(2), minibatch-std over groups of min(4, N) with one feature); its group size is fixed at 4, so
use mbstd_group_size 4 with converted D weights (recorded as `mbstd_group_size` in the metadata).
"""
import argparse
import json
import math
import os
import re
import sys
from collections import OrderedDict

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # loom_files, also when loaded by path
from loom_files import save_safetensors

PROG = "convert_stylegan2.py"


def fail(message):
    sys.exit(f"{PROG}: {message}")


def fir_filter():
    """NVlabs' resample_filter buffer: outer([1,3,3,1]) normalised to sum 1."""
    k = torch.tensor([1.0, 3.0, 3.0, 1.0])
    k = k[:, None] * k[None, :]
    return k / k.sum()


# ---------------------------------------------------------------------------------------------------
# NVlabs pickles.


def load_nvlabs_pickle(path, repo):
    if repo:
        sys.path.insert(0, os.path.abspath(os.path.expanduser(repo)))
    try:
        import legacy  # noqa: F401  (NVlabs stylegan2-ada-pytorch / stylegan3 repo)
    except ImportError as e:
        fail(f"{path}: reading an NVlabs pickle needs the NVlabs repo (legacy.py, dnnlib, torch_utils) on the "
             f"Python path; pass --nvlabs-repo DIR or set PYTHONPATH ({e})")
    import dnnlib

    with dnnlib.util.open_url(path) as f:
        data = legacy.load_network_pkl(f)
    nets = OrderedDict()
    for name in ("G", "D", "G_ema"):
        if data.get(name) is not None:
            nets[name] = data[name]
    if "G_ema" not in nets:
        fail(f"{path}: no G_ema network in the pickle (found {sorted(data.keys())})")
    return nets


def nvlabs_metadata(G, D=None):
    kw = dict(getattr(G, "init_kwargs", {}) or {})
    syn = dict(kw.get("synthesis_kwargs", {}) or {})
    mapk = dict(kw.get("mapping_kwargs", {}) or {})
    meta = {
        "source_layout": "nvlabs",
        "resolution": str(G.img_resolution),
        "z_dim": str(G.z_dim),
        "w_dim": str(G.w_dim),
        "c_dim": str(G.c_dim),
        "img_channels": str(G.img_channels),
        "num_ws": str(G.num_ws),
        "map_layers": str(G.mapping.num_layers),
        "channel_base": str(syn.get("channel_base", 32768)),
        "channel_max": str(syn.get("channel_max", 512)),
        "conv_clamp": str(syn.get("conv_clamp", None)).lower(),
        "architecture": str(syn.get("architecture", "skip")),
        "G_init_kwargs": json.dumps(kw, default=str),
    }
    if "lr_multiplier" in mapk:
        meta["map_lr_multiplier"] = str(mapk["lr_multiplier"])
    if D is not None:
        dkw = dict(getattr(D, "init_kwargs", {}) or {})
        meta["D_init_kwargs"] = json.dumps(dkw, default=str)
        epi = dict(dkw.get("epilogue_kwargs", {}) or {})
        mbstd = getattr(getattr(D, "b4", None), "mbstd", None)
        group = epi.get("mbstd_group_size", getattr(mbstd, "group_size", None))
        if group is not None:
            meta["mbstd_group_size"] = str(group)
        if "mbstd_num_channels" in epi:
            meta["mbstd_num_channels"] = str(epi["mbstd_num_channels"])
    return meta


def loom_model(meta):
    """Loom's `model:` section (src/models/stylegan2/stylegan2_options.h) from the NVlabs-named metadata,
    as src/models/stylegan2/nvlabs_metadata.cpp maps the files written before this record existed."""
    model = {"name": "stylegan2"}
    renamed = (("resolution", "resolution", int), ("img_channels", "img_channels", int), ("z_dim", "z_dim", int),
               ("w_dim", "w_dim", int), ("c_dim", "c_dim", int), ("map_layers", "mapping_layers", int),
               ("map_lr_multiplier", "mapping_lr_multiplier", float), ("channel_base", "channel_base", int),
               ("channel_max", "channel_max", int), ("mbstd_group_size", "mbstd_group_size", int),
               ("mbstd_num_channels", "mbstd_channels", int))
    for nvlabs, loom, kind in renamed:
        if meta.get(nvlabs, "none").lower() != "none":
            model[loom] = kind(meta[nvlabs])
    if "conv_clamp" in meta:
        model["conv_clamp"] = None if meta["conv_clamp"] == "none" else float(meta["conv_clamp"])
    if meta["source_layout"] == "rosinality":
        model["num_fp16_res"] = 0
    elif "G_init_kwargs" in meta:
        synthesis = json.loads(meta["G_init_kwargs"]).get("synthesis_kwargs", {}) or {}
        model["num_fp16_res"] = int(synthesis.get("num_fp16_res", 0))  # NVlabs' SynthesisNetwork default
    return json.dumps(model)


# ---------------------------------------------------------------------------------------------------
# rosinality/stylegan2-pytorch → NVlabs.


def _check_kernel(t, scale, key, path):
    want = fir_filter() * scale
    if tuple(t.shape) != (4, 4) or not torch.allclose(t.float().cpu(), want, atol=1e-6):
        fail(f"{path}: {key} is not the standard [1,3,3,1] blur kernel; only blur_kernel=[1,3,3,1] converts")


def _res_of_conv(j):
    """convs.{j}: two per resolution from 8 up; j even = conv0 (the up=2 conv)."""
    return 2 ** (j // 2 + 3), j % 2


def rosinality_generator_to_nvlabs(sd, latent_avg, path, prefix=""):
    """`sd`: a rosinality Generator state dict. Returns (NVlabs-named OrderedDict, metadata)."""
    where = lambda k: f"{path}: {prefix}{k}"  # noqa: E731
    style = sorted(int(m.group(1)) for k in sd for m in [re.fullmatch(r"style\.(\d+)\.weight", k)] if m)
    if not style or style != list(range(1, len(style) + 1)):
        fail(f"{path}: {prefix or 'the state dict '}is not a rosinality generator (style.1.weight ... expected, "
             f"found style indices {style})")
    rgb = [int(m.group(1)) for k in sd for m in [re.fullmatch(r"to_rgbs\.(\d+)\.conv\.weight", k)] if m]
    resolution = 2 ** (max(rgb) + 3) if rgb else 4
    out = OrderedDict()

    def put(name, t):
        out[name] = t.detach().clone().contiguous()

    layer_re = re.compile(r"(conv1|to_rgb1|convs\.(\d+)|to_rgbs\.(\d+))\.(.+)")
    for key, t in sd.items():
        m = re.fullmatch(r"style\.(\d+)\.(weight|bias)", key)
        if m:
            put(f"mapping.fc{int(m.group(1)) - 1}.{m.group(2)}", t)
            continue
        if key == "input.input":
            if t.ndim != 4 or t.shape[0] != 1:
                fail(f"{where(key)}: expected shape [1, C, 4, 4], got {list(t.shape)}")
            put("synthesis.b4.const", t[0])
            continue
        m = re.fullmatch(r"noises\.noise_(\d+)", key)
        if m:
            i = int(m.group(1))
            if i == 0:
                name = "synthesis.b4.conv1"
            else:
                name = f"synthesis.b{2 ** ((i - 1) // 2 + 3)}.conv{(i - 1) % 2}"
            if t.ndim != 4 or t.shape[:2] != (1, 1):
                fail(f"{where(key)}: expected shape [1, 1, H, W], got {list(t.shape)}")
            put(f"{name}.noise_const", t[0, 0])
            continue
        m = layer_re.fullmatch(key)
        if not m:
            fail(f"{where(key)}: unexpected key in a rosinality generator")
        head, conv_j, rgb_k, rest = m.groups()
        is_rgb = head.startswith("to_rgb")
        if head == "conv1":
            name = "synthesis.b4.conv1"
        elif head == "to_rgb1":
            name = "synthesis.b4.torgb"
        elif conv_j is not None:
            res, which = _res_of_conv(int(conv_j))
            name = f"synthesis.b{res}.conv{which}"
        else:
            name = f"synthesis.b{2 ** (int(rgb_k) + 3)}.torgb"
        if rest == "conv.weight":
            if t.ndim != 5 or t.shape[0] != 1:
                fail(f"{where(key)}: expected shape [1, O, I, k, k], got {list(t.shape)}")
            put(f"{name}.weight", t[0])
        elif rest in ("conv.modulation.weight", "conv.modulation.bias"):
            put(f"{name}.affine.{rest.rsplit('.', 1)[1]}", t)
        elif rest == "noise.weight" and not is_rgb:
            if t.numel() != 1:
                fail(f"{where(key)}: expected one value, got shape {list(t.shape)}")
            put(f"{name}.noise_strength", t.reshape([]))
        elif rest == "activate.bias" and not is_rgb:
            put(f"{name}.bias", t)
        elif rest == "bias" and is_rgb:
            put(f"{name}.bias", t.reshape(-1))
        elif rest == "conv.blur.kernel" and conv_j is not None and int(conv_j) % 2 == 0:
            _check_kernel(t, 4.0, prefix + key, path)  # dropped: NVlabs' resample_filter replaces it
        elif rest == "upsample.kernel" and rgb_k is not None:
            _check_kernel(t, 4.0, prefix + key, path)
        else:
            fail(f"{where(key)}: unexpected key in a rosinality generator")

    if latent_avg is not None:
        put("mapping.w_avg", latent_avg.reshape(-1))
    elif "mapping.w_avg" not in out:
        w_dim = out["mapping.fc0.weight"].shape[0]
        print(f"{PROG}: warning: {path} has no latent_avg; mapping.w_avg is zero (truncation psi<1 then pulls "
              "towards 0, not the mean w)", file=sys.stderr)
        out["mapping.w_avg"] = torch.zeros(w_dim, dtype=out["mapping.fc0.weight"].dtype)

    # NVlabs registers a resample_filter in every SynthesisBlock and every SynthesisLayer.
    dtype = out["synthesis.b4.const"].dtype
    for r in (2 ** i for i in range(2, int(math.log2(resolution)) + 1)):
        for layer in ([f"b{r}"] + ([f"b{r}.conv0"] if r > 4 else []) + [f"b{r}.conv1"]):
            out[f"synthesis.{layer}.resample_filter"] = fir_filter().to(dtype)

    expected = set(nvlabs_generator_keys(resolution, len(style)))
    missing = sorted(expected - set(out))
    if missing:
        fail(f"{path}: {prefix or 'generator '}is incomplete: no source for {', '.join(missing[:8])}"
             f"{' ...' if len(missing) > 8 else ''}")
    extra = sorted(set(out) - expected)
    if extra:
        fail(f"{path}: {prefix}unexpected layers for a {resolution}px generator: {', '.join(extra[:8])}")

    channels = {4: out["synthesis.b4.const"].shape[0]}
    for r in (2 ** i for i in range(3, int(math.log2(resolution)) + 1)):
        channels[r] = out[f"synthesis.b{r}.conv1.weight"].shape[0]
    meta = {
        "source_layout": "rosinality",
        "resolution": str(resolution),
        "z_dim": str(out["mapping.fc0.weight"].shape[1]),
        "w_dim": str(out["mapping.fc0.weight"].shape[0]),
        "c_dim": "0",
        "img_channels": "3",
        "num_ws": str(2 * int(math.log2(resolution)) - 2),
        "map_layers": str(len(style)),
        "map_lr_multiplier": "0.01",
        "conv_clamp": "none",
        "channels": json.dumps({str(k): int(v) for k, v in channels.items()}),
        "architecture": "skip",
    }
    base, cmax = infer_channel_base(channels)
    if base is not None:
        meta["channel_base"], meta["channel_max"] = str(base), str(cmax)
    else:
        print(f"{PROG}: warning: {path}: channel widths {channels} do not follow min(channel_base // res, "
              "channel_max); NVlabs' layout cannot express them", file=sys.stderr)
    return out, meta


def infer_channel_base(channels):
    """(channel_base, channel_max) with min(base // res, max) == channels[res] for every res, or (None, None).
    rosinality's channel_multiplier cm corresponds to channel_base 16384·cm, channel_max 512."""
    cmax = max(channels.values())
    for base in sorted({c * r for r, c in channels.items()} | {16384, 32768}):
        if all(min(base // r, cmax) == c for r, c in channels.items()):
            return base, cmax
    return None, None


def nvlabs_generator_keys(resolution, map_layers):
    keys = [f"mapping.fc{i}.{p}" for i in range(map_layers) for p in ("weight", "bias")] + ["mapping.w_avg"]
    layer = ("weight", "bias", "noise_strength", "affine.weight", "affine.bias", "noise_const", "resample_filter")
    for r in (2 ** i for i in range(2, int(math.log2(resolution)) + 1)):
        b = f"synthesis.b{r}"
        keys.append(f"{b}.resample_filter")
        if r == 4:
            keys.append(f"{b}.const")
        else:
            keys.extend(f"{b}.conv0.{p}" for p in layer)
        keys.extend(f"{b}.conv1.{p}" for p in layer)
        keys.extend(f"{b}.torgb.{p}" for p in ("weight", "bias", "affine.weight", "affine.bias"))
    return keys


def rosinality_discriminator_to_nvlabs(sd, path, prefix="d."):
    """rosinality Discriminator (ConvLayer/ResBlock sequential) → NVlabs 'resnet' Discriminator names."""
    blocks = sorted({int(m.group(1)) for k in sd for m in [re.match(r"convs\.(\d+)\.", k)] if m})
    if not blocks or blocks != list(range(len(blocks))):
        fail(f"{path}: {prefix} is not a rosinality discriminator (convs.0 ... expected)")
    resolution = 2 ** (len(blocks) - 1 + 2)  # convs.0 = fromrgb, then one ResBlock per resolution down to 8
    out = OrderedDict()
    inner = {
        "conv1.0.weight": "conv0.weight", "conv1.1.bias": "conv0.bias",
        "conv2.1.weight": "conv1.weight", "conv2.2.bias": "conv1.bias",
        "skip.1.weight": "skip.weight",
    }
    final = {
        "final_conv.0.weight": "b4.conv.weight", "final_conv.1.bias": "b4.conv.bias",
        "final_linear.0.weight": "b4.fc.weight", "final_linear.0.bias": "b4.fc.bias",
        "final_linear.1.weight": "b4.out.weight", "final_linear.1.bias": "b4.out.bias",
    }
    for key, t in sd.items():
        t = t.detach().clone().contiguous()
        if key in final:
            out[final[key]] = t
            continue
        m = re.fullmatch(r"convs\.(\d+)\.(.+)", key)
        if not m:
            fail(f"{path}: {prefix}{key}: unexpected key in a rosinality discriminator")
        j, rest = int(m.group(1)), m.group(2)
        if j == 0:
            name = {"0.weight": "fromrgb.weight", "1.bias": "fromrgb.bias"}.get(rest)
            if name is None:
                fail(f"{path}: {prefix}{key}: unexpected key in a rosinality discriminator")
            out[f"b{resolution}.{name}"] = t
            continue
        res = resolution >> (j - 1)
        if rest in ("conv2.0.kernel", "skip.0.kernel"):
            _check_kernel(t, 1.0, prefix + key, path)
            continue
        if rest not in inner:
            fail(f"{path}: {prefix}{key}: unexpected key in a rosinality discriminator")
        out[f"b{res}.{inner[rest]}"] = t
    dtype = out["b4.conv.weight"].dtype
    for r in (2 ** i for i in range(int(math.log2(resolution)), 2, -1)):
        names = ([f"b{r}.fromrgb"] if r == resolution else []) + [f"b{r}.conv0", f"b{r}.conv1", f"b{r}.skip", f"b{r}"]
        for n in names:
            out[f"{n}.resample_filter"] = fir_filter().to(dtype)
    out["b4.conv.resample_filter"] = fir_filter().to(dtype)
    expected = set(nvlabs_discriminator_keys(resolution))
    missing = sorted(expected - set(out))
    if missing:
        fail(f"{path}: {prefix} is incomplete: no source for {', '.join(missing[:8])}")
    return out, {"mbstd_group_size": "4", "mbstd_num_channels": "1", "D_architecture": "resnet"}


def nvlabs_discriminator_keys(resolution):
    keys = []
    for r in (2 ** i for i in range(int(math.log2(resolution)), 2, -1)):
        if r == resolution:
            keys += [f"b{r}.fromrgb.{p}" for p in ("weight", "bias", "resample_filter")]
        for layer in ("conv0", "conv1"):
            keys += [f"b{r}.{layer}.{p}" for p in ("weight", "bias", "resample_filter")]
        keys += [f"b{r}.skip.weight", f"b{r}.skip.resample_filter", f"b{r}.resample_filter"]
    keys += ["b4.conv.weight", "b4.conv.bias", "b4.conv.resample_filter"]
    keys += [f"b4.{l}.{p}" for l in ("fc", "out") for p in ("weight", "bias")]
    return keys


def load_rosinality(path):
    import argparse as _argparse

    # Training checkpoints hold `args` (an argparse.Namespace); allow just that class, nothing else.
    try:
        torch.serialization.add_safe_globals([_argparse.Namespace])
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 — any unpickling problem is reported with the file name
        fail(f"{path}: cannot read as a torch checkpoint ({type(e).__name__}: {e})")
    if not isinstance(ckpt, dict):
        fail(f"{path}: expected a dict (rosinality checkpoint), got {type(ckpt).__name__}")
    if "style.1.weight" in ckpt:  # a bare generator state dict
        return {"g_ema": ckpt}
    if "g_ema" not in ckpt:
        fail(f"{path}: no 'g_ema' entry (found {sorted(map(str, ckpt.keys()))}); not a rosinality checkpoint")
    return ckpt


def convert_rosinality(path, everything):
    ckpt = load_rosinality(path)
    latent_avg = ckpt.get("latent_avg")
    if latent_avg is not None and not isinstance(latent_avg, torch.Tensor):
        fail(f"{path}: latent_avg is a {type(latent_avg).__name__}, expected a tensor")
    tensors = OrderedDict()
    g_ema, meta = rosinality_generator_to_nvlabs(ckpt["g_ema"], latent_avg, path, "g_ema.")
    if not everything:
        return g_ema, meta
    if "g" in ckpt:
        g, _ = rosinality_generator_to_nvlabs(ckpt["g"], latent_avg, path, "g.")
        tensors.update((f"G.{k}", v) for k, v in g.items())
    if "d" in ckpt:
        d, dmeta = rosinality_discriminator_to_nvlabs(ckpt["d"], path)
        tensors.update((f"D.{k}", v) for k, v in d.items())
        meta.update(dmeta)
    tensors.update((f"G_ema.{k}", v) for k, v in g_ema.items())
    return tensors, meta


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", help="NVlabs network-snapshot-*.pkl or rosinality *.pt")
    p.add_argument("--out", required=True, help="output .safetensors")
    p.add_argument("--all", action="store_true", help="every network, prefixed G. / D. / G_ema.")
    p.add_argument("--nvlabs-repo", help="checkout of NVlabs stylegan2-ada-pytorch or stylegan3 (for .pkl)")
    p.add_argument("--format", choices=["auto", "nvlabs", "rosinality"], default="auto")
    p.add_argument("--resolution", type=int, help="expected resolution; an error if the file differs")
    args = p.parse_args()

    if not os.path.exists(args.input):
        fail(f"{args.input}: no such file")
    fmt = args.format
    if fmt == "auto":
        fmt = "nvlabs" if args.input.endswith(".pkl") else "rosinality"
    if fmt == "nvlabs":
        nets = load_nvlabs_pickle(args.input, args.nvlabs_repo)
        meta = nvlabs_metadata(nets["G_ema"], nets.get("D"))
        if args.all:
            tensors = OrderedDict((f"{n}.{k}", v) for n, net in nets.items() for k, v in net.state_dict().items())
        else:
            tensors = OrderedDict(nets["G_ema"].state_dict())
    else:
        tensors, meta = convert_rosinality(args.input, args.all)
    if args.resolution and int(meta["resolution"]) != args.resolution:
        fail(f"{args.input}: the generator is {meta['resolution']}px, not --resolution {args.resolution}")
    meta["converted_from"] = os.path.basename(args.input)
    meta["loom.model"] = loom_model(meta)
    # clone: safetensors refuses tensors sharing storage (tied or repeated modules).
    save_safetensors({k: v.detach().cpu().clone().contiguous() for k, v in tensors.items()}, args.out, metadata=meta)
    print(f"{PROG}: wrote {len(tensors)} tensors ({meta['resolution']}px, {meta['source_layout']} layout in) to {args.out}")


if __name__ == "__main__":
    main()

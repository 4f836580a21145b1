"""rosinality/stylegan2-pytorch ↔ NVlabs layout checks for tests/models/stylegan2/test_rosinality_layout.cpp.

  stylegan2_layouts.py write DIR            random NVlabs G/D (stylegan2_reference.py) and the same weights
                                            in rosinality layout (the inverse map, written here)
  stylegan2_layouts.py check-convert DIR    scripts/convert_stylegan2.py on DIR/rosinality.pt must give the
                                            NVlabs dicts exactly (default and --all)
  stylegan2_layouts.py check-semantics DIR  a rosinality forward pass (written here from rosinality's
                                            model.py facts) on the rosinality weights vs the NVlabs
                                            reference on the NVlabs weights: images and D logits

Files written by `write`: nvlabs_g.safetensors, nvlabs_d.safetensors (NVlabs names, unprefixed),
rosinality_g.safetensors and rosinality_g.pt (the g_ema state dict, no latent_avg),
rosinality_latent_avg.safetensors, rosinality.pt (training-style checkpoint: g, d, g_ema, latent_avg, args).
Exit status 0 on success, 1 with a message otherwise.
"""
import argparse
import math
import os
import subprocess
import sys
from collections import OrderedDict

import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import load_file

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import stylegan2_reference as ref  # noqa: E402

CONFIG = ["--resolution", "32", "--channel-base", "512", "--channel-max", "64", "--z-dim", "64", "--w-dim", "64",
          "--map-layers", "3", "--seed", "3"]


def fail(message):
    print(f"stylegan2_layouts.py: {message}", file=sys.stderr)
    sys.exit(1)


def model_args(dtype):
    p = argparse.ArgumentParser()
    ref.add_model_args(p)
    return p.parse_args(CONFIG + ["--dtype", dtype])


def build(dtype="float32"):
    args = model_args(dtype)
    G, D, _ = ref.build(args)
    dt = getattr(torch, dtype)
    return G.to(dt).eval(), D.to(dt).eval(), args


# ---------------------------------------------------------------------------------------------------
# NVlabs → rosinality (the inverse of the map under test, written from rosinality's model.py key names).


def kernel(scale):
    k = torch.tensor([1.0, 3.0, 3.0, 1.0])
    k = torch.outer(k, k)
    return k / k.sum() * scale


def g_to_rosinality(sd):
    out = OrderedDict()
    i = 0
    while f"mapping.fc{i}.weight" in sd:
        out[f"style.{i + 1}.weight"] = sd[f"mapping.fc{i}.weight"]
        out[f"style.{i + 1}.bias"] = sd[f"mapping.fc{i}.bias"]
        i += 1
    out["input.input"] = sd["synthesis.b4.const"].unsqueeze(0)
    res_list = sorted(int(k.split(".")[1][1:]) for k in sd if k.startswith("synthesis.b") and k.endswith(".torgb.weight"))

    def styled(dst, src, up):
        out[f"{dst}.conv.weight"] = sd[f"{src}.weight"].unsqueeze(0)
        out[f"{dst}.conv.modulation.weight"] = sd[f"{src}.affine.weight"]
        out[f"{dst}.conv.modulation.bias"] = sd[f"{src}.affine.bias"]
        if up:
            out[f"{dst}.conv.blur.kernel"] = kernel(4.0)
        out[f"{dst}.noise.weight"] = sd[f"{src}.noise_strength"].reshape(1)
        out[f"{dst}.activate.bias"] = sd[f"{src}.bias"]

    def torgb(dst, src, up):
        if up:
            out[f"{dst}.upsample.kernel"] = kernel(4.0)
        out[f"{dst}.conv.weight"] = sd[f"{src}.weight"].unsqueeze(0)
        out[f"{dst}.conv.modulation.weight"] = sd[f"{src}.affine.weight"]
        out[f"{dst}.conv.modulation.bias"] = sd[f"{src}.affine.bias"]
        out[f"{dst}.bias"] = sd[f"{src}.bias"].reshape(1, -1, 1, 1)

    styled("conv1", "synthesis.b4.conv1", False)
    torgb("to_rgb1", "synthesis.b4.torgb", False)
    for res in res_list[1:]:
        k = int(math.log2(res)) - 3
        styled(f"convs.{2 * k}", f"synthesis.b{res}.conv0", True)
        styled(f"convs.{2 * k + 1}", f"synthesis.b{res}.conv1", False)
    for res in res_list[1:]:
        k = int(math.log2(res)) - 3
        torgb(f"to_rgbs.{k}", f"synthesis.b{res}.torgb", True)
    out["noises.noise_0"] = sd["synthesis.b4.conv1.noise_const"][None, None]
    for res in res_list[1:]:
        k = int(math.log2(res)) - 3
        out[f"noises.noise_{2 * k + 1}"] = sd[f"synthesis.b{res}.conv0.noise_const"][None, None]
        out[f"noises.noise_{2 * k + 2}"] = sd[f"synthesis.b{res}.conv1.noise_const"][None, None]
    return OrderedDict((k, v.clone().contiguous()) for k, v in out.items())


def d_to_rosinality(sd):
    res_list = sorted((int(k.split(".")[0][1:]) for k in sd if k.endswith(".conv0.weight")), reverse=True)
    top = res_list[0]
    out = OrderedDict()
    out["convs.0.0.weight"] = sd[f"b{top}.fromrgb.weight"]
    out["convs.0.1.bias"] = sd[f"b{top}.fromrgb.bias"]
    for j, res in enumerate(res_list, start=1):
        out[f"convs.{j}.conv1.0.weight"] = sd[f"b{res}.conv0.weight"]
        out[f"convs.{j}.conv1.1.bias"] = sd[f"b{res}.conv0.bias"]
        out[f"convs.{j}.conv2.0.kernel"] = kernel(1.0)
        out[f"convs.{j}.conv2.1.weight"] = sd[f"b{res}.conv1.weight"]
        out[f"convs.{j}.conv2.2.bias"] = sd[f"b{res}.conv1.bias"]
        out[f"convs.{j}.skip.0.kernel"] = kernel(1.0)
        out[f"convs.{j}.skip.1.weight"] = sd[f"b{res}.skip.weight"]
    out["final_conv.0.weight"] = sd["b4.conv.weight"]
    out["final_conv.1.bias"] = sd["b4.conv.bias"]
    for i, n in enumerate(("fc", "out")):
        out[f"final_linear.{i}.weight"] = sd[f"b4.{n}.weight"]
        out[f"final_linear.{i}.bias"] = sd[f"b4.{n}.bias"]
    return OrderedDict((k, v.clone().contiguous()) for k, v in out.items())


def write(folder):
    from safetensors.torch import save_file

    os.makedirs(folder, exist_ok=True)
    G, D, args = build("float32")
    g_sd = OrderedDict((k, v.detach().clone()) for k, v in G.state_dict().items())
    d_sd = OrderedDict((k, v.detach().clone()) for k, v in D.state_dict().items())
    save_file(dict(g_sd), os.path.join(folder, "nvlabs_g.safetensors"))
    save_file(dict(d_sd), os.path.join(folder, "nvlabs_d.safetensors"))
    ros_g = g_to_rosinality(g_sd)
    ros_d = d_to_rosinality(d_sd)
    latent_avg = g_sd["mapping.w_avg"].clone()
    save_file(dict(ros_g), os.path.join(folder, "rosinality_g.safetensors"))
    torch.save(ros_g, os.path.join(folder, "rosinality_g.pt"))
    save_file({"latent_avg": latent_avg}, os.path.join(folder, "rosinality_latent_avg.safetensors"))
    # A training-style checkpoint (g = g_ema here; what matters is the layout) with `args`, which a
    # weights_only torch.load refuses unless argparse.Namespace is allowed.
    ckpt = {"g": ros_g, "d": ros_d, "g_ema": ros_g, "latent_avg": latent_avg,
            "args": argparse.Namespace(size=32, n_mlp=3, latent=64, channel_multiplier=2)}
    torch.save(ckpt, os.path.join(folder, "rosinality.pt"))
    print(f"wrote NVlabs and rosinality layouts ({len(g_sd)} / {len(ros_g)} G tensors) to {folder}")


# ---------------------------------------------------------------------------------------------------
# check-convert


def compare_dicts(got, want, what):
    if set(got) != set(want):
        fail(f"{what}: names differ: only in output {sorted(set(got) - set(want))[:8]}, "
             f"missing {sorted(set(want) - set(got))[:8]}")
    for k in want:
        g, w = got[k], want[k]
        if g.dtype != w.dtype or g.shape != w.shape:
            fail(f"{what}: {k}: got {g.dtype} {list(g.shape)}, expected {w.dtype} {list(w.shape)}")
        if not torch.equal(g, w):
            fail(f"{what}: {k}: values differ (max {(g.double() - w.double()).abs().max().item()})")


def run_converter(args):
    """convert_stylegan2.py in this process (a torch import per run is most of the test's time);
    returns (exit status, stderr)."""
    import contextlib
    import importlib.util
    import io

    spec = importlib.util.spec_from_file_location("convert_stylegan2", CONVERTER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    err = io.StringIO()
    saved = sys.argv
    sys.argv = [CONVERTER] + args
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            module.main()
        return 0, err.getvalue()
    except SystemExit as e:
        return (e.code if isinstance(e.code, int) else 1), err.getvalue() + (e.code if isinstance(e.code, str) else "")
    finally:
        sys.argv = saved


CONVERTER = os.path.join(HERE, "..", "..", "scripts", "convert_stylegan2.py")


def check_convert(folder):

    g = load_file(os.path.join(folder, "nvlabs_g.safetensors"))
    d = load_file(os.path.join(folder, "nvlabs_d.safetensors"))
    everything = {**{f"G.{k}": v for k, v in g.items()}, **{f"D.{k}": v for k, v in d.items()},
                  **{f"G_ema.{k}": v for k, v in g.items()}}
    for extra, want in (([], g), (["--all"], everything)):
        out = os.path.join(folder, f"converted{''.join(extra)}.safetensors")
        argv = [os.path.join(folder, "rosinality.pt"), "--out", out] + extra
        if extra:  # once as a real command line
            r = subprocess.run([sys.executable, CONVERTER] + argv, capture_output=True, text=True)
            rc, err = r.returncode, r.stdout + r.stderr
        else:
            rc, err = run_converter(argv)
        if rc != 0:
            fail(f"convert_stylegan2.py {' '.join(extra)} failed:\n{err}")
        compare_dicts(load_file(out), want, f"convert_stylegan2.py {' '.join(extra)}".strip())
        meta = safe_open(out, "pt").metadata()
        for key, value in (("resolution", "32"), ("z_dim", "64"), ("w_dim", "64"), ("map_layers", "3"),
                           ("channel_base", "512"), ("channel_max", "64"), ("source_layout", "rosinality")):
            if meta.get(key) != value:
                fail(f"metadata {key} = {meta.get(key)!r}, expected {value!r} ({meta})")
    # A bare generator state dict converts too; without latent_avg, w_avg is zero (with a warning).
    out = os.path.join(folder, "converted_bare.safetensors")
    rc, err = run_converter([os.path.join(folder, "rosinality_g.pt"), "--out", out])
    if rc != 0 or "no latent_avg" not in err:
        fail(f"bare state dict: rc {rc}\n{err}")
    want = dict(g)
    want["mapping.w_avg"] = torch.zeros_like(g["mapping.w_avg"])
    compare_dicts(load_file(out), want, "convert_stylegan2.py (bare g_ema state dict)")
    # Unexpected keys are named in the error, with the file.
    bad = torch.load(os.path.join(folder, "rosinality_g.pt"), weights_only=True)
    bad["convs.0.mystery.weight"] = torch.zeros(1)
    torch.save({"g_ema": bad}, os.path.join(folder, "bad.pt"))
    rc, err = run_converter([os.path.join(folder, "bad.pt"), "--out", out])
    if rc == 0 or "g_ema.convs.0.mystery.weight" not in err or "bad.pt" not in err:
        fail(f"an unexpected key must fail naming file and key; got rc {rc}: {err}")
    check_nvlabs_pickle(folder, g, everything)
    print("convert_stylegan2.py: rosinality → NVlabs exact (default, --all, bare state dict); bad key reported; "
          ".pkl plumbing (stand-in legacy.py) exact")


def write_nvlabs_pickle(folder, g_kwargs, d_kwargs=None):
    """A stand-in for NVlabs' legacy.py / dnnlib (the real repo is not a test dependency) and a snapshot
    pickle of {G, D, G_ema} modules carrying these init_kwargs (what NVlabs' persistence records).
    Returns (pickle path, repo folder)."""
    import pickle

    repo = os.path.join(folder, "fake_nvlabs")
    os.makedirs(os.path.join(repo, "dnnlib"), exist_ok=True)
    for name, text in (("legacy.py", "import pickle\n\ndef load_network_pkl(f):\n    return pickle.load(f)\n"),
                       ("dnnlib/__init__.py", "from . import util\n"),
                       ("dnnlib/util.py", "def open_url(path):\n    return open(path, 'rb')\n")):
        with open(os.path.join(repo, name), "w") as f:
            f.write(text)
    G, D, _ = build("float32")
    G.init_kwargs = g_kwargs
    if d_kwargs is not None:
        D.init_kwargs = d_kwargs
    pkl = os.path.join(folder, "network-snapshot-000000.pkl")
    with open(pkl, "wb") as f:
        pickle.dump({"G": G, "D": D, "G_ema": G, "augment_pipe": None, "training_set_kwargs": {}}, f)
    return pkl, repo


def check_nvlabs_pickle(folder, g, everything):
    """The .pkl path: the state dicts must come out unchanged."""
    pkl, repo = write_nvlabs_pickle(folder, {
        "z_dim": 64, "c_dim": 0, "w_dim": 64, "img_resolution": 32, "img_channels": 3,
        "mapping_kwargs": {"num_layers": 3}, "synthesis_kwargs": {"channel_base": 512, "channel_max": 64}})
    for extra, want in (([], g), (["--all"], everything)):
        out = os.path.join(folder, f"from_pkl{''.join(extra)}.safetensors")
        rc, err = run_converter([pkl, "--nvlabs-repo", repo, "--out", out] + extra)
        if rc != 0:
            fail(f"convert_stylegan2.py on a .pkl failed: {err}")
        compare_dicts(load_file(out), want, f"convert_stylegan2.py .pkl {' '.join(extra)}")
        meta = safe_open(out, "pt").metadata()
        if (meta.get("resolution"), meta.get("channel_base"), meta.get("map_layers")) != ("32", "512", "3"):
            fail(f".pkl metadata: {meta}")


# ---------------------------------------------------------------------------------------------------
# check-semantics: rosinality's forward pass, functional, on rosinality-named weights.

SQRT2 = math.sqrt(2.0)
R_DEMOD_EPS = 1e-8


def r_fused_lrelu(x, bias):
    return F.leaky_relu(x + bias.reshape([1, -1] + [1] * (x.ndim - 2)), 0.2) * SQRT2


def r_equal_linear(x, s, name, lr_mul=1.0, act=False):
    w, b = s[f"{name}.weight"], s[f"{name}.bias"]
    y = F.linear(x, w * (lr_mul / math.sqrt(w.shape[1])))
    return r_fused_lrelu(y, b * lr_mul) if act else y + b * lr_mul


def r_upfirdn(x, k, up=1, down=1, pad=(0, 0)):
    """rosinality's native upfirdn2d: zero-stuff, pad (pad0, pad1) both axes, convolve, decimate."""
    n, c, h, w = x.shape
    if up > 1:
        x = torch.stack([x] + [torch.zeros_like(x)] * (up - 1), dim=-1).reshape(n, c, h, w * up)
        x = torch.stack([x] + [torch.zeros_like(x)] * (up - 1), dim=-2).reshape(n, c, h * up, w * up)
    x = F.pad(x, [pad[0], pad[1], pad[0], pad[1]])
    kk = k.to(x.dtype).flip([0, 1])[None, None].repeat(c, 1, 1, 1)
    x = F.conv2d(x, kk, groups=c)
    return x[:, :, ::down, ::down]


def r_modconv(x, style, s, name, demodulate=True, upsample=False):
    """rosinality ModulatedConv2d, its non-fused branch (activations scaled, then one conv for the batch)."""
    w5 = s[f"{name}.weight"]
    _, out_ch, in_ch, k, _ = w5.shape
    weight = w5[0] / math.sqrt(in_ch * k * k)
    st = r_equal_linear(style, s, f"{name}.modulation")
    n = x.shape[0]
    if demodulate:
        dcoefs = ((weight.unsqueeze(0) * st.reshape(n, 1, in_ch, 1, 1)).square().sum((2, 3, 4)) + R_DEMOD_EPS).rsqrt()
    x = x * st.reshape(n, in_ch, 1, 1)
    if upsample:
        out = F.conv_transpose2d(x, weight.transpose(0, 1), stride=2)
        out = r_upfirdn(out, s[f"{name}.blur.kernel"], pad=(1, 1))  # p = (4-2)-(3-1) = 0 → (1, 1)
    else:
        out = F.conv2d(x, weight, padding=k // 2)
    return out * dcoefs.reshape(n, -1, 1, 1) if demodulate else out


def r_generator(s, latent, noises):
    """rosinality Generator.forward with input_is_latent=True, a full [N, n_latent, w] latent, and the given
    noise maps (randomize_noise=False uses the noises.* buffers)."""
    def styled(name, x, w, noise, up=False):
        x = r_modconv(x, w, s, f"{name}.conv", upsample=up)
        x = x + s[f"{name}.noise.weight"] * noise
        return r_fused_lrelu(x, s[f"{name}.activate.bias"])

    def to_rgb(name, x, w, skip):
        y = r_modconv(x, w, s, f"{name}.conv", demodulate=False) + s[f"{name}.bias"]
        if skip is not None:
            y = y + r_upfirdn(skip, s[f"{name}.upsample.kernel"], up=2, pad=(2, 1))  # p = 4-2 → (2, 1)
        return y

    n = latent.shape[0]
    out = s["input.input"].repeat(n, 1, 1, 1)
    out = styled("conv1", out, latent[:, 0], noises[0])
    skip = to_rgb("to_rgb1", out, latent[:, 1], None)
    k, i = 0, 1
    while f"convs.{2 * k}.conv.weight" in s:
        out = styled(f"convs.{2 * k}", out, latent[:, i], noises[2 * k + 1], up=True)
        out = styled(f"convs.{2 * k + 1}", out, latent[:, i + 1], noises[2 * k + 2])
        skip = to_rgb(f"to_rgbs.{k}", out, latent[:, i + 2], skip)
        k, i = k + 1, i + 2
    return skip


def r_mapping(s, z):
    x = z * torch.rsqrt(z.square().mean(dim=1, keepdim=True) + 1e-8)  # PixelNorm = style.0
    i = 1
    while f"style.{i}.weight" in s:
        x = r_equal_linear(x, s, f"style.{i}", lr_mul=0.01, act=True)
        i += 1
    return x


def r_conv_layer(x, s, name, k, downsample=False, activate=True):
    """rosinality ConvLayer: [Blur] EqualConv2d [FusedLeakyReLU] as a Sequential (indices 0, 1, 2)."""
    idx = 0
    stride, padding = 1, k // 2
    if downsample:
        p = (4 - 2) + (k - 1)
        x = r_upfirdn(x, s[f"{name}.{idx}.kernel"], pad=((p + 1) // 2, p // 2))
        idx += 1
        stride, padding = 2, 0
    w = s[f"{name}.{idx}.weight"]
    x = F.conv2d(x, w / math.sqrt(w.shape[1] * k * k), stride=stride, padding=padding)
    if activate:
        x = r_fused_lrelu(x, s[f"{name}.{idx + 1}.bias"])
    return x


def r_discriminator(s, img, group=4):
    out = r_conv_layer(img, s, "convs.0", 1)
    j = 1
    while f"convs.{j}.conv1.0.weight" in s:
        y = r_conv_layer(out, s, f"convs.{j}.conv1", 3)
        y = r_conv_layer(y, s, f"convs.{j}.conv2", 3, downsample=True)
        skip = r_conv_layer(out, s, f"convs.{j}.skip", 1, downsample=True, activate=False)
        out = (y + skip) / SQRT2
        j += 1
    n, c, h, w = out.shape
    g = min(n, group)
    sd = out.reshape(g, -1, 1, c, h, w).var(0, unbiased=False).add(1e-8).sqrt()
    sd = sd.mean([2, 3, 4], keepdim=True).squeeze(2).repeat(g, 1, h, w)
    out = torch.cat([out, sd], 1)
    out = r_conv_layer(out, s, "final_conv", 3).reshape(n, -1)
    out = r_equal_linear(out, s, "final_linear.0", act=True)
    return r_equal_linear(out, s, "final_linear.1")


def check_semantics(folder):
    """Twice: with the real epsilons (agreement to ~1e-8 relative: rosinality demodulates weights already
    scaled by 1/sqrt(fan_in), NVlabs unscaled ones, so the 1e-8 weighs differently), then with both
    demodulation epsilons zero, where only float64 rounding may remain."""
    del folder  # everything is rebuilt in float64
    global R_DEMOD_EPS
    compare_forward(tolerance=1e-6, label="demodulation eps 1e-8")
    R_DEMOD_EPS, ref.DEMOD_EPS = 0.0, 0.0
    compare_forward(tolerance=1e-12, label="demodulation eps 0")


def compare_forward(tolerance, label):
    G, D, args = build("float64")
    ros_g = g_to_rosinality(G.state_dict())
    ros_d = d_to_rosinality(D.state_dict())
    latent_avg = G.mapping.w_avg
    gen = torch.Generator().manual_seed(11)
    n = 4
    z = torch.randn(n, args.z_dim, generator=gen, dtype=torch.float64)
    x = torch.randn(n, 3, args.resolution, args.resolution, generator=gen, dtype=torch.float64)
    noises = [ros_g[f"noises.noise_{i}"] for i in range(2 * int(math.log2(args.resolution)) - 3)]
    results = {}
    with torch.no_grad():
        w = r_mapping(ros_g, z)
        ws = G.mapping(z, None)
        results["mapping"] = (w.unsqueeze(1).expand_as(ws), ws)
        latent = w.unsqueeze(1).repeat(1, G.num_ws, 1)
        results["G const noise"] = (r_generator(ros_g, latent, noises), G.synthesis(ws, noise_mode="const", fused=False))
        zero = [torch.zeros_like(t) for t in noises]
        results["G no noise"] = (r_generator(ros_g, latent, zero), G.synthesis(ws, noise_mode="none", fused=False))
        lt = latent_avg + 0.7 * (latent - latent_avg)  # rosinality truncation
        results["G psi 0.7"] = (r_generator(ros_g, lt, noises), G(z, None, truncation_psi=0.7, noise_mode="const", fused=False))
        # Mixed per-layer latents (W+) exercise the w index of every layer.
        wplus = torch.randn(n, G.num_ws, args.w_dim, generator=gen, dtype=torch.float64)
        results["G W+"] = (r_generator(ros_g, wplus, noises), G.synthesis(wplus, noise_mode="const", fused=False))
        results["D"] = (r_discriminator(ros_d, x), D(x))
        img = G.synthesis(ws, noise_mode="const", fused=False)
        results["D(G)"] = (r_discriminator(ros_d, img), D(img))
    worst = 0.0
    for name, (got, want) in results.items():
        diff = (got - want).abs().max().item()
        rel = diff / max(want.abs().max().item(), 1e-30)
        worst = max(worst, rel)
        print(f"  {name:15s} max |rosinality - NVlabs| = {diff:.3e} (relative {rel:.3e}, scale {want.abs().max().item():.3g})")
        if not rel < tolerance:
            fail(f"{name}: rosinality and NVlabs semantics differ (relative {rel:.3e}, {label})")
    print(f"rosinality == NVlabs numerically, {label}: worst relative difference {worst:.3e} (float64)")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=["write", "check-convert", "check-semantics"])
    p.add_argument("folder")
    a = p.parse_args()
    {"write": write, "check-convert": check_convert, "check-semantics": check_semantics}[a.command](a.folder)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Re-save LPIPS heads and torchvision backbones as safetensors for loom (losses/perceptual/perceptual_loss.h).

  convert_lpips.py heads IN.pth OUT.safetensors [--net vgg|alex]
  convert_lpips.py backbone IN.pth OUT.safetensors [--arch vgg16|vgg19|alexnet]

heads: IN is one of the lpips package's (0.1.4) head files, lpips/weights/v0.1/{vgg,alex}.pth (legacy,
pre-zip torch.save format, which loom cannot read), or any state dict of lpips.LPIPS. OUT holds
lin0..lin4.model.1.weight [1, C, 1, 1], the module's names (`head_weights`). A file saved from
LPIPS(use_dropout=False) names the same convs lin{k}.model.0.weight: they are renamed, with a note (the
package itself would silently skip them under strict=False and keep random heads). The channels must be
LPIPS-VGG's (64, 128, 256, 512, 512) or LPIPS-Alex's (64, 192, 384, 256, 256); --net checks which.
Entries of a whole LPIPS state dict other than the heads (net.*, scaling_layer.*, lins.*) are dropped.

backbone: IN is a torchvision state dict (vgg16-397923af.pth, vgg19-dcbb9e9d.pth, alexnet-owt-7be5be79.pth
or any torch.save / safetensors file with torchvision's names). OUT holds features.{i}.weight/bias with
torchvision's names and indices (`backbone_weights` reads them for any taps); classifier.* is dropped.
Every conv of the architecture must be present with its shape; the architecture is recognised from the
shapes, and --arch checks it.

Exit status 2 with a message on a file that does not fit.
"""
import argparse
import os
import re
import sys

import torch
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # loom_files, also when loaded by path
from loom_files import save_safetensors

LPIPS_CHANNELS = {"vgg": (64, 128, 256, 512, 512), "alex": (64, 192, 384, 256, 256)}


def fail(message):
    print(f"convert_lpips.py: {message}", file=sys.stderr)
    sys.exit(2)


def load_state(path):
    if not os.path.isfile(path):
        fail(f"{path}: no such file")
    if path.endswith(".safetensors"):
        from safetensors.torch import load_file
        return load_file(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unreadable file gets the same message
        fail(f"{path}: cannot be read as a torch.save'd state dict ({e})")
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        fail(f"{path}: does not hold a state dict of tensors")
    return {k[len("module."):] if k.startswith("module.") else k: v for k, v in state.items()}


def convert_heads(src, dst, net):
    state = load_state(src)
    heads, renamed, unknown = {}, [], []
    for name, tensor in state.items():
        m = re.fullmatch(r"lin(\d+)\.model\.([01])\.weight", name)
        if m:
            key = f"lin{m.group(1)}.model.1.weight"
            if key in heads:
                fail(f"{src}: both lin{m.group(1)}.model.0.weight and lin{m.group(1)}.model.1.weight are present")
            heads[key] = tensor
            if m.group(2) == "0":
                renamed.append(name)
        elif not name.startswith(("net.", "scaling_layer.", "lins.")):
            unknown.append(name)
    if unknown:
        fail(f"{src}: not an LPIPS head file: unexpected keys {', '.join(unknown[:10])}")
    if len(heads) == 7:
        fail(f"{src}: holds 7 heads (LPIPS-SqueezeNet), which loom does not offer; convert vgg.pth or alex.pth")
    missing = [f"lin{k}.model.1.weight" for k in range(5) if f"lin{k}.model.1.weight" not in heads]
    if missing or len(heads) != 5:
        fail(f"{src}: expected the five heads lin0..lin4, missing {', '.join(missing) or 'none'}, found {sorted(heads)}")
    channels = tuple(heads[f"lin{k}.model.1.weight"].shape[1] if heads[f"lin{k}.model.1.weight"].dim() == 4 else -1
                     for k in range(5))
    found = next((n for n, c in LPIPS_CHANNELS.items() if c == channels), None)
    if found is None:
        fail(f"{src}: head channels {channels} are neither LPIPS-VGG's {LPIPS_CHANNELS['vgg']} "
             f"nor LPIPS-Alex's {LPIPS_CHANNELS['alex']}")
    if net and net != found:
        fail(f"{src}: these are LPIPS-{found} heads (channels {channels}), not LPIPS-{net}")
    for k in range(5):
        shape = tuple(heads[f"lin{k}.model.1.weight"].shape)
        if shape != (1, channels[k], 1, 1):
            fail(f"{src}: lin{k} has shape {shape}, expected {(1, channels[k], 1, 1)}")
    if renamed:
        print(f"convert_lpips.py: note: {src} names its heads {', '.join(renamed)} (LPIPS(use_dropout=False)); "
              "written as lin{k}.model.1.weight", file=sys.stderr)
    out = {k: v.detach().to(torch.float32).contiguous() for k, v in sorted(heads.items())}
    save_safetensors(out, dst, metadata={"format": "lpips-heads", "net": found, "source": os.path.basename(src)})
    print(f"wrote {dst}: LPIPS-{found} heads, channels {channels}")


def expected_features(arch):
    """features.{i}.weight/bias shapes of a torchvision architecture, built on the meta device (no download)."""
    import torchvision
    with torch.device("meta"):
        if arch == "alexnet":
            features = torchvision.models.AlexNet().features
        else:
            from torchvision.models.vgg import cfgs, make_layers
            features = make_layers(cfgs["D" if arch == "vgg16" else "E"])
    return {f"features.{k}": tuple(v.shape) for k, v in features.state_dict().items()}


def convert_backbone(src, dst, arch):
    state = load_state(src)
    features = {k: v for k, v in state.items() if k.startswith("features.")}
    unknown = [k for k in state if not k.startswith(("features.", "classifier."))]
    if unknown:
        fail(f"{src}: not a torchvision VGG/AlexNet state dict: unexpected keys {', '.join(unknown[:10])}")
    shapes = {k: tuple(v.shape) for k, v in features.items()}
    problems = {}
    for name in ("vgg16", "vgg19", "alexnet"):
        want = expected_features(name)
        missing = [k for k in want if k not in shapes]
        extra = [k for k in shapes if k not in want]
        wrong = [f"{k} {shapes[k]} (expected {want[k]})" for k in want if k in shapes and shapes[k] != want[k]]
        problems[name] = "; ".join(filter(None, [
            missing and f"missing {', '.join(missing[:5])}",
            extra and f"unexpected {', '.join(extra[:5])}",
            wrong and f"shape {', '.join(wrong[:3])}"]))
    found = next((name for name, why in problems.items() if not why), None)
    if found is None:
        checked = [arch] if arch else list(problems)
        fail(f"{src}: the features match no torchvision architecture: " +
             " | ".join(f"{name}: {problems[name]}" for name in checked))
    if arch and arch != found:
        fail(f"{src}: these are torchvision {found} features, not {arch}")
    out = {k: features[k].detach().to(torch.float32).contiguous() for k in expected_features(found)}
    save_safetensors(out, dst, metadata={"format": "torchvision-features", "arch": found, "source": os.path.basename(src)})
    print(f"wrote {dst}: {found} features, {len(out)} tensors")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    heads = sub.add_parser("heads", help="the lpips package's lin head file")
    heads.add_argument("src")
    heads.add_argument("dst")
    heads.add_argument("--net", choices=sorted(LPIPS_CHANNELS))
    backbone = sub.add_parser("backbone", help="a torchvision VGG16/VGG19/AlexNet state dict")
    backbone.add_argument("src")
    backbone.add_argument("dst")
    backbone.add_argument("--arch", choices=["vgg16", "vgg19", "alexnet"])
    args = parser.parse_args()
    if not args.dst.endswith(".safetensors"):
        fail(f"{args.dst}: the output must be a .safetensors file")
    if args.what == "heads":
        convert_heads(args.src, args.dst, args.net)
    else:
        convert_backbone(args.src, args.dst, args.arch)


if __name__ == "__main__":
    main()

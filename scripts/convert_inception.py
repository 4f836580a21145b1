#!/usr/bin/env python3
"""Convert FID Inception-v3 weights to a safetensors file for loom (eval/metrics/inception_v3.h).

  convert_inception.py IN.pth OUT.safetensors

IN is pytorch-fid's weight file, pt_inception-2015-12-05-6726825d.pth (the TensorFlow 2015-12-05 FID
graph as a torchvision Inception3 state dict: "Conv2d_1a_3x3.conv.weight", "Mixed_5b.branch1x1.bn.
running_mean", ..., "fc.weight"), or any torch.save'd state dict of
  - a torchvision-style Inception3 (optionally under "state_dict" and/or with a "module." prefix), or
  - pytorch-fid's InceptionV3 wrapper with the default output block 3 ("blocks.0.0.conv.weight", ...).
A .safetensors input with either naming is accepted too. The output holds the pool3 network only: the classifier (fc.*), auxiliary classifier (AuxLogits.*) and
BatchNorm step counters (num_batches_tracked) are dropped. Every expected tensor must be present with the
FID network's shape, else the script stops and names what is wrong.

Not supported: NVlabs' TorchScript detector inception-2015-12-05.pt (stylegan2-ada-pytorch). Its module
names come from the traced TensorFlow graph and could not be checked against a real file here, so no
mapping is guessed; convert pytorch-fid's .pth instead (both hold the same TF 2015-12-05 weights).
"""
import argparse
import os
import re
import sys
import zipfile

import torch
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # loom_files, also when loaded by path
from loom_files import save_safetensors

# pytorch-fid's InceptionV3 wrapper: blocks[i][j] -> Inception3 module names (pooling layers hold no weights).
WRAPPER_BLOCKS = {
    (0, 0): "Conv2d_1a_3x3", (0, 1): "Conv2d_2a_3x3", (0, 2): "Conv2d_2b_3x3",
    (1, 0): "Conv2d_3b_1x1", (1, 1): "Conv2d_4a_3x3",
    (2, 0): "Mixed_5b", (2, 1): "Mixed_5c", (2, 2): "Mixed_5d", (2, 3): "Mixed_6a",
    (2, 4): "Mixed_6b", (2, 5): "Mixed_6c", (2, 6): "Mixed_6d", (2, 7): "Mixed_6e",
    (3, 0): "Mixed_7a", (3, 1): "Mixed_7b", (3, 2): "Mixed_7c",
}


def expected_shapes():
    """Names and shapes of the FID network's pool3 tensors, from torchvision's Inception3 (no download)."""
    import torchvision
    model = torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=False)
    return {k: tuple(v.shape) for k, v in model.state_dict().items() if keep(k)}


def keep(name):
    return not (name.startswith("fc.") or name.startswith("AuxLogits.") or name.endswith("num_batches_tracked"))


def rename(name):
    if name.startswith("module."):
        name = name[len("module."):]
    m = re.match(r"blocks\.(\d+)\.(\d+)\.(.*)", name)
    if m:
        key = (int(m.group(1)), int(m.group(2)))
        if key not in WRAPPER_BLOCKS:
            raise SystemExit(f"unexpected pytorch-fid wrapper key {name!r} (only output block 3 is supported)")
        name = f"{WRAPPER_BLOCKS[key]}.{m.group(3)}"
    return name


def load_state_dict(path):
    if path.endswith(".safetensors"):
        from safetensors.torch import load_file
        return load_file(path)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            if any(n.endswith("constants.pkl") or "/code/" in n for n in z.namelist()):
                raise SystemExit(f"{path} is a TorchScript archive (NVlabs' detector?): not supported, "
                                 "convert pytorch-fid's pt_inception-2015-12-05-6726825d.pth instead")
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise SystemExit(f"{path} does not hold a state dict of tensors")
    return state


def convert(src, dst):
    state = load_state_dict(src)
    out = {}
    for name, tensor in state.items():
        new = rename(name)
        if keep(new):
            out[new] = tensor.detach().to(torch.float32).contiguous()
    want = expected_shapes()
    missing = sorted(set(want) - set(out))
    unexpected = sorted(set(out) - set(want))
    mismatched = [f"{k}: file {tuple(out[k].shape)} vs network {want[k]}" for k in want
                  if k in out and tuple(out[k].shape) != want[k]]
    if missing or unexpected or mismatched:
        lines = [f"{src} is not an FID Inception-v3 state dict:"]
        for title, items in (("missing", missing), ("unexpected", unexpected), ("shape mismatch", mismatched)):
            if items:
                lines.append(f"  {title} ({len(items)}): " + ", ".join(items[:8]) + (" ..." if len(items) > 8 else ""))
        raise SystemExit("\n".join(lines))
    save_safetensors(out, dst, metadata={"format": "pt", "network": "FID Inception-v3 (TF 2015-12-05), pool3",
                                  "source": src.rsplit("/", 1)[-1]})
    print(f"wrote {dst}: {len(out)} tensors")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("input", help="pytorch-fid .pth (state dict)")
    parser.add_argument("output", help="output .safetensors")
    args = parser.parse_args()
    convert(args.input, args.output)


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Reads a `loom export format=torch` state dict as a Python user would, for tests/export.

usage: torch_export_check.py FILE.pt OUT.safetensors

torch.load(FILE.pt, weights_only=True) must give a flat dict of tensors, and FILE.json beside it must
name the file and give each module's tensor count (their sum plus the tensors beside the modules, such
as w_avg, is the dict's size); the dict is written to OUT.safetensors for the C++ test to compare with
Loom's modules. Exits 1, saying why, on a failure.
"""
import json
import pathlib
import sys

import torch
from safetensors.torch import save_file


def main():
    path, out = pathlib.Path(sys.argv[1]), sys.argv[2]
    state = torch.load(path, weights_only=True, map_location="cpu")
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        print(f"torch_export_check: {path} is not a flat dict of tensors", file=sys.stderr)
        return 1
    meta = json.loads(path.with_suffix(".json").read_text())
    if meta["weights"] != path.name:
        print(f"torch_export_check: {path.with_suffix('.json')} names {meta['weights']}", file=sys.stderr)
        return 1
    in_modules = sum(m["tensors"] for m in meta["modules"].values())
    prefixes = [name + "." for name in meta["modules"] if name != "model"]
    beside = [k for k in state if prefixes and not any(k.startswith(p) for p in prefixes)]
    if in_modules + len(beside) != len(state):
        print(f"torch_export_check: {len(state)} tensors, the JSON counts {in_modules} + {len(beside)}", file=sys.stderr)
        return 1
    save_file({k: v.contiguous() for k, v in state.items()}, out)
    print(f"torch_export_check: {path.name}: {len(state)} tensors, modules {', '.join(meta['modules'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

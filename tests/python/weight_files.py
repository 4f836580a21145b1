"""Reference weight files for tests/core/io (loom::weights).

  weight_files.py make DIR    writes Python-made files for the C++ reader to check
  weight_files.py check DIR   checks DIR/cpp.pt and DIR/cpp.safetensors written by C++

Values come from formulas that tests/core/io/test_weight_files.cpp recomputes, so comparisons are exact.
Exit status 0 on success, 1 with a message on the first mismatch.
"""
import collections
import os
import sys
import zipfile

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file


def expected():
    """The tensors both sides write; views included (safetensors writers store them contiguous)."""
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4) / 4
    grid = torch.arange(20, dtype=torch.float64).reshape(4, 5)
    return {
        "f32": torch.arange(24, dtype=torch.float32).reshape(2, 3, 4) * 0.5 - 3,
        "f16": (torch.arange(12, dtype=torch.float32).reshape(3, 4) * 0.25 - 1).to(torch.float16),
        "bf16": (torch.arange(12, dtype=torch.float32).reshape(4, 3) * 0.125 + 2).to(torch.bfloat16),
        "i64": torch.arange(10, dtype=torch.int64) * 1000003 - 7,
        "scalar": torch.tensor(2.5),
        "base": base,
        "transposed": base.t(),
        "strided": grid[:, ::2],
        "flags": torch.arange(6) % 2 == 0,
    }


METADATA = {"format": "pt", "written_by": "loom-test"}


def make(folder):
    # A Python state_dict is an OrderedDict with a _metadata attribute; mimic one with extras that
    # exercise nested dicts, nn.Parameter and a dtype saved through _rebuild_tensor_v3.
    sd = collections.OrderedDict(expected())
    sd["param"] = torch.nn.Parameter(torch.arange(4, dtype=torch.float32) - 1.5)
    sd["u16"] = torch.tensor([0, 1000, 65535], dtype=torch.uint16)
    sd["nested"] = {"inner": {"w": torch.arange(6, dtype=torch.int32).reshape(2, 3) * 7}}
    sd._metadata = collections.OrderedDict({"": {"version": 1}})
    torch.save(sd, os.path.join(folder, "py.pt"))
    torch.save(sd, os.path.join(folder, "py_protocol4.pt"), pickle_protocol=4)
    save_file({k: v.contiguous() for k, v in expected().items()}, os.path.join(folder, "py.safetensors"), METADATA)

    # Files a weights reader must refuse with a clear message.
    torch.save([torch.ones(2)], os.path.join(folder, "list.pt"))
    torch.save({"w": torch.ones(2), "step": 3}, os.path.join(folder, "with_int.pt"))
    torch.save({"w": collections.Counter(a=1)}, os.path.join(folder, "with_object.pt"))
    with zipfile.ZipFile(os.path.join(folder, "other.zip"), "w") as z:
        z.writestr("notes/readme.txt", "not a torch file")


def fail(message):
    print(f"weight_files.py check: {message}", file=sys.stderr)
    sys.exit(1)


def compare(name, got, want):
    if got.dtype != want.dtype or got.shape != want.shape:
        fail(f"{name}: got {got.dtype} {tuple(got.shape)}, expected {want.dtype} {tuple(want.shape)}")
    if not torch.equal(got, want):
        fail(f"{name}: values differ\n{got}\nexpected\n{want}")


def check(folder):
    want = expected()
    pt_path = os.path.join(folder, "cpp.pt")
    got = torch.load(pt_path, weights_only=True)
    if not isinstance(got, dict) or list(got.keys()) != list(want.keys()):
        fail(f"{pt_path}: keys {list(got.keys()) if isinstance(got, dict) else type(got)} != {list(want.keys())}")
    for name in want:
        compare(f"{pt_path}:{name}", got[name], want[name])
    # Views written from C++ must still share their storage, as torch.save would have written them.
    if got["transposed"].untyped_storage().data_ptr() != got["base"].untyped_storage().data_ptr():
        fail(f"{pt_path}: 'transposed' no longer shares storage with 'base'")
    if got["transposed"].stride() != (1, 4) or got["strided"].stride() != (5, 2):
        fail(f"{pt_path}: strides not kept: {got['transposed'].stride()}, {got['strided'].stride()}")

    st_path = os.path.join(folder, "cpp.safetensors")
    got = load_file(st_path)
    if sorted(got) != sorted(want):
        fail(f"{st_path}: keys {sorted(got)} != {sorted(want)}")
    for name in want:
        compare(f"{st_path}:{name}", got[name], want[name].contiguous())
    with safe_open(st_path, "pt") as f:
        if f.metadata() != METADATA:
            fail(f"{st_path}: metadata {f.metadata()} != {METADATA}")
    print("weight_files.py check: ok")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("make", "check"):
        fail(f"usage: {sys.argv[0]} make|check DIR")
    {"make": make, "check": check}[sys.argv[1]](sys.argv[2])

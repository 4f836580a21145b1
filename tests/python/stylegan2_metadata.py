"""The architecture scripts/convert_stylegan2.py records, for tests/models/stylegan2/test_generator_files.cpp.

  stylegan2_metadata.py write DIR   converts a stand-in NVlabs snapshot whose init_kwargs carry values
                                    a state dict does not hold (num_fp16_res 2, conv_clamp 256, mapping
                                    lr_multiplier 0.05, mbstd group 2) and a rosinality checkpoint (--all),
                                    checks the Loom section each records under "loom.model", and writes a
                                    copy of the NVlabs file without it (as converted before it existed),
                                    which the C++ reader must map to the same section.

Files: DIR/nvlabs.safetensors, DIR/nvlabs_legacy.safetensors, DIR/rosinality_all.safetensors.
Exit status 0 on success, 1 with a message otherwise.
"""
import json
import os
import sys

from safetensors import safe_open
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stylegan2_layouts as layouts  # noqa: E402

G_KWARGS = {"z_dim": 64, "c_dim": 0, "w_dim": 64, "img_resolution": 32, "img_channels": 3,
            "mapping_kwargs": {"num_layers": 3, "lr_multiplier": 0.05},
            "synthesis_kwargs": {"channel_base": 512, "channel_max": 64, "num_fp16_res": 2, "conv_clamp": 256}}
D_KWARGS = {"c_dim": 0, "img_resolution": 32, "img_channels": 3, "channel_base": 512, "channel_max": 64,
            "epilogue_kwargs": {"mbstd_group_size": 2, "mbstd_num_channels": 1}}
SHAPE = {"name": "stylegan2", "resolution": 32, "img_channels": 3, "z_dim": 64, "w_dim": 64, "c_dim": 0,
         "mapping_layers": 3, "channel_base": 512, "channel_max": 64}
EXPECTED = {
    "nvlabs.safetensors": {**SHAPE, "mapping_lr_multiplier": 0.05, "conv_clamp": 256.0, "num_fp16_res": 2,
                           "mbstd_group_size": 2, "mbstd_channels": 1},
    "rosinality_all.safetensors": {**SHAPE, "mapping_lr_multiplier": 0.01, "conv_clamp": None, "num_fp16_res": 0,
                                   "mbstd_group_size": 4, "mbstd_channels": 1},
}


def convert(args):
    rc, err = layouts.run_converter(args)
    if rc != 0:
        layouts.fail(f"convert_stylegan2.py {' '.join(args)} failed:\n{err}")


def write(folder):
    os.makedirs(folder, exist_ok=True)
    layouts.write(folder)  # rosinality.pt among others
    pkl, repo = layouts.write_nvlabs_pickle(folder, G_KWARGS, D_KWARGS)
    convert([pkl, "--nvlabs-repo", repo, "--out", os.path.join(folder, "nvlabs.safetensors")])
    convert([os.path.join(folder, "rosinality.pt"), "--all", "--out", os.path.join(folder, "rosinality_all.safetensors")])
    for name, want in EXPECTED.items():
        with safe_open(os.path.join(folder, name), "pt") as f:
            got = json.loads(f.metadata()["loom.model"])
        if got != want:
            layouts.fail(f"{name}: loom.model {got}, expected {want}")
    path = os.path.join(folder, "nvlabs.safetensors")
    with safe_open(path, "pt") as f:
        legacy = {k: v for k, v in f.metadata().items() if k != "loom.model"}
    save_file(load_file(path), os.path.join(folder, "nvlabs_legacy.safetensors"), metadata=legacy)
    print(f"convert_stylegan2.py records loom.model as expected; wrote {', '.join(EXPECTED)} and "
          f"nvlabs_legacy.safetensors to {folder}")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "write":
        layouts.fail(f"usage: {sys.argv[0]} write DIR")
    write(sys.argv[2])

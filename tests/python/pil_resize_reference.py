"""PIL's Image.resize and open_clip's evaluation preprocessing, the references of tests/data/test_pil_resize.cpp
(loom::data::pil_resize and loom::data::open_clip_transforms).

  pil_resize_reference.py photos OUT.safetensors
      OUT gets photographs shipped inside scikit-image (skimage.data) as uint8 [H, W, C]: "astronaut",
      "coffee", "chelsea" (RGB) and "camera" (grey, C = 1).

  pil_resize_reference.py cases IN.safetensors OUT.safetensors
      IN holds uint8 [H, W, C] images (C = 1: mode "L", C = 3: "RGB"), each with a metadata entry of its
      name that says what to do:
        "resize FILTER WIDTH HEIGHT"   OUT "<name>": image.resize((WIDTH, HEIGHT), FILTER) as uint8 [h, w, C]
        "open_clip SIZE MODE INTERPOLATION FILL MEAN0,MEAN1,MEAN2 STD0,STD1,STD2"
            OUT "<name>.tensor": open_clip.transform.image_transform(SIZE, is_train=False, mean, std,
            resize_mode=MODE, interpolation=INTERPOLATION, fill_color=FILL) of the image, float32 [3, S, S];
            "<name>.pixels": the same transform's PIL image before ToTensor, uint8 [S, S, 3].
"""
import sys

import numpy as np
import torch
from PIL import Image
from safetensors import safe_open
from safetensors.torch import save_file

FILTERS = {
    "nearest": Image.Resampling.NEAREST,
    "box": Image.Resampling.BOX,
    "bilinear": Image.Resampling.BILINEAR,
    "hamming": Image.Resampling.HAMMING,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
}


def photos(out_path):
    import skimage.data

    out = {name: torch.from_numpy(np.ascontiguousarray(getattr(skimage.data, name)()))
           for name in ("astronaut", "coffee", "chelsea")}
    out["camera"] = torch.from_numpy(np.ascontiguousarray(skimage.data.camera()[:, :, None]))
    save_file(out, out_path)


def to_pil(image):
    array = image.numpy()
    return Image.fromarray(array[:, :, 0], "L") if array.shape[2] == 1 else Image.fromarray(array, "RGB")


def from_pil(image):
    array = np.asarray(image)
    return torch.from_numpy(np.ascontiguousarray(array if array.ndim == 3 else array[:, :, None]))


def open_clip_case(image, spec):
    from open_clip.transform import image_transform
    from torchvision.transforms import Normalize, ToTensor

    size, mode, interpolation, fill, mean, std = spec
    transform = image_transform(int(size), is_train=False, mean=[float(v) for v in mean.split(",")],
                                std=[float(v) for v in std.split(",")], resize_mode=mode,
                                interpolation=interpolation, fill_color=int(fill))
    tensor = transform(image)
    # The PIL steps alone: everything before ToTensor (open_clip's MaybeToTensor derives from it).
    pixels = image
    for step in transform.transforms:
        if isinstance(step, (ToTensor, Normalize)):
            break
        pixels = step(pixels)
    return tensor.contiguous(), from_pil(pixels.convert("RGB"))


def cases(in_path, out_path):
    out = {}
    with safe_open(in_path, "pt") as f:
        specs = f.metadata()
        for name in f.keys():
            what, *spec = specs[name].split()
            image = to_pil(f.get_tensor(name))
            if what == "resize":
                filter_name, width, height = spec
                out[name] = from_pil(image.resize((int(width), int(height)), FILTERS[filter_name]))
            elif what == "open_clip":
                out[name + ".tensor"], out[name + ".pixels"] = open_clip_case(image, spec)
            else:
                raise ValueError(f"{name}: unknown case '{specs[name]}'")
    save_file(out, out_path)


if __name__ == "__main__":
    if sys.argv[1] == "photos":
        photos(sys.argv[2])
    else:
        cases(sys.argv[2], sys.argv[3])

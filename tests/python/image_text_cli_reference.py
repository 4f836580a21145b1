"""Fixtures and the open_clip reference for tests/app/test_image_text_cli.cpp (`loom embed`, `loom eval`
on a model-only config).

    image_text_cli_reference.py make DIR
        DIR/zero_shot/<class>/*.png|jpg  photographs-like images of three classes, sizes and aspect ratios
                                         that exercise open_clip's resize and centre crop
        DIR/pairs.csv                    an image-caption table over the same images (curly quotes,
                                         ligatures, a caption longer than the context)
        DIR/texts.txt                    one text per line
        DIR/broken/                      a folder with one good and one unreadable image
    image_text_cli_reference.py check MODEL WEIGHTS IMAGES TEXTS PREFIX
        compares Loom's PREFIX.image.npy / PREFIX.text.npy / PREFIX.json with open_clip MODEL loaded from
        WEIGHTS: its own preprocess (PIL) on each image named in the manifest and open_clip.tokenize
        on each text; exit 1 when they differ by more than the tolerance.
"""
import json
import os
import sys

import numpy as np

CLASSES = ["circle", "square", "stripes"]
TEXTS = ["a photo of a circle", "“quoted” caption with a ﬁne ligature", "ＦＵＬＬ width", "plain words"]


def photo(rng, kind, height, width):
    """A smooth-shaded image with a shape, texture and noise: real structure at every scale."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    base = np.stack([128 + 80 * np.sin(x / (17 + 9 * c) + y / (23 + 5 * c) + rng.uniform(0, 6)) for c in range(3)], -1)
    cy, cx, r = height * rng.uniform(0.3, 0.7), width * rng.uniform(0.3, 0.7), min(height, width) * 0.25
    if kind == "circle":
        mask = (y - cy) ** 2 + (x - cx) ** 2 < r * r
    elif kind == "square":
        mask = (abs(y - cy) < r) & (abs(x - cx) < r)
    else:
        mask = np.sin(x / 3.0) > 0.3
    base[mask] = base[mask] * 0.3 + np.array(rng.uniform(0, 255, 3)) * 0.7
    base += rng.normal(0, 12, base.shape)
    return np.clip(base, 0, 255).astype(np.uint8)


def make(folder):
    from PIL import Image

    rng = np.random.default_rng(7)
    sizes = [(240, 320), (300, 200), (224, 224), (181, 397)]
    rows = []
    for c, kind in enumerate(CLASSES):
        os.makedirs(os.path.join(folder, "zero_shot", kind), exist_ok=True)
        for i, (h, w) in enumerate(sizes):
            ext = "jpg" if i % 2 else "png"
            path = os.path.join(folder, "zero_shot", kind, f"{i}.{ext}")
            Image.fromarray(photo(rng, kind, h, w)).save(path, quality=92)
            rows.append((os.path.relpath(path, folder), f"a photo of a {kind}, number {i}"))
    rows[1] = (rows[1][0], "a ‘curly’ “quoted” caption of a circle with an ﬁ ligature")
    rows[2] = (rows[2][0], " ".join(["a very long caption that goes on"] * 20))
    with open(os.path.join(folder, "pairs.csv"), "w", encoding="utf-8") as f:
        f.write("filepath,caption\n")
        for path, caption in rows:
            f.write(f'{path},"{caption}"\n')
    with open(os.path.join(folder, "texts.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(TEXTS) + "\n")
    os.makedirs(os.path.join(folder, "broken"), exist_ok=True)
    Image.fromarray(photo(rng, "circle", 200, 260)).save(os.path.join(folder, "broken", "good.png"))
    with open(os.path.join(folder, "broken", "bad.png"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n not really a png")
    os.makedirs(os.path.join(folder, "empty"), exist_ok=True)


def check(model_name, weights, images_root, texts_file, prefix):
    import open_clip
    import torch
    from PIL import Image
    from safetensors.torch import load_file

    model, _, preprocess = open_clip.create_model_and_transforms(model_name)
    model.load_state_dict(load_file(weights))
    model.eval()
    manifest = json.load(open(prefix + ".json", encoding="utf-8"))
    failures = 0
    with torch.no_grad():
        if manifest["images"]:
            batch = torch.stack([preprocess(Image.open(p).convert("RGB")) for p in manifest["images"]])
            want = model.encode_image(batch, normalize=manifest["normalized"]).numpy()
            got = np.load(prefix + ".image.npy")
            err = float(np.abs(got - want).max())
            print(f"images: {len(manifest['images'])}, max |loom - open_clip| = {err:.3g}")
            failures += err > 1e-4
        if manifest["texts"]:
            want = model.encode_text(open_clip.tokenize(manifest["texts"]), normalize=manifest["normalized"]).numpy()
            got = np.load(prefix + ".text.npy")
            err = float(np.abs(got - want).max())
            print(f"texts: {len(manifest['texts'])}, max |loom - open_clip| = {err:.3g}")
            failures += err > 1e-4
    return 1 if failures else 0


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2])
    else:
        sys.exit(check(*sys.argv[2:7]))

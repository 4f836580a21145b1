#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target into fuzz/corpus/<target>/seed-*.

Run with the venv's Python (it needs torch, safetensors and Pillow):
    source ~/.cache/loom/env && $LOOM_PYTHON fuzz/make_seeds.py
Only seed-* files are rewritten; inputs that `scripts/fuzz --update-corpus` merged in stay. The seeds
are tiny on purpose: libFuzzer mutates small inputs fastest, and the whole corpus stays well under 1 MB.
"""
import collections
import io
import pathlib
import pickle
import struct
import zipfile

import torch
from PIL import Image
from safetensors.torch import save as safetensors_bytes

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"


def write(target, name, data):
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"seed-{name}").write_bytes(data.encode() if isinstance(data, str) else data)


def config_yaml():
    # The shipped configs (their _base_ paths point nowhere from the scratch folder: still useful YAML).
    for path in sorted((ROOT / "configs").rglob("*.yaml")):
        write("config_yaml", str(path.relative_to(ROOT / "configs")).replace("/", "_"), path.read_bytes())
    write("config_yaml", "anchors.yaml", "a: &x {b: [1, 2], c: 'q'}\nd: *x\ne: [*x, *x]\n")
    write("config_yaml", "self_base.yaml", "_base_: config.yaml\nx: 1\n")
    write("config_yaml", "base_list.yaml", "_base_: [missing.yaml, /dev/null]\nx: {y: null, z: ~}\n")
    write("config_yaml", "quoting.yaml", "s: \"1\"\nt: '2'\nu: \"a: b\"\nv: \"\\t\\x01\"\nw: [-1, '-', \"\"]\n")
    write("config_yaml", "block.yaml", "text: |\n  two\n  lines\nfolded: >\n  one\n  line\nlist:\n  - a: 1\n    b: [x]\n")
    write("config_yaml", "two_docs.yaml", "a: 1\n---\nb: 2\n")
    # yaml-cpp 0.7's LoadAll never ended on these (text after a flow collection or a quoted scalar).
    write("config_yaml", "flow_then_comma.yaml", "[1],[2]\n")
    write("config_yaml", "quoted_then_comma.yaml", "a: 1\n'x','y'\n")
    # Regressions of fixed defects: a self-referencing alias (a cycle once converted) and an alias bomb.
    write("config_yaml", "alias_cycle.yaml", "a: &x [*x]\n")
    bomb = "l0: &l0 [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 9))
    write("config_yaml", "alias_bomb.yaml", bomb)


def config_override():
    lines = [
        "train.steps=10",
        "model.widths=[8, 16]\nmodel.widths.0=4",
        "data.train.transforms.1.p=0.25",
        "optimizer={name: sgd, lr: 0.1}",
        "output.name='quoted: name'\ntrain.checkpoint.best_metric=val/acc",
        "recipe.ema=null\nnew.deep.key={a: [1, {b: 2}]}",
        "data.val.transforms=[{name: resize, size: 32}]",
        "model.name.x=1",
        "model.widths=[8,16],[16,32]",  # a sweep axis given to `loom train`: refused, not an endless loop
    ]
    for i, text in enumerate(lines):
        write("config_override", f"{i}.txt", text + "\n")


def sweep_axis():
    values = [
        "model.vision.cropped_pe.enabled=false,true",
        "loss.name=clip,siglip,focal_contrastive",
        "seed=range(0,3)",
        "lr=range(0.001,0.01,0.003)",
        "x=choice(a,b,'c,d')",
        "model.widths=[8,16],[16,32]",
        "opt={name: sgd, lr: 0.1},{name: adamw}",
        "t=range(10,0,-2)",
        "train.steps=1000",
        "a='x','y'",
    ]
    for i, text in enumerate(values):
        write("sweep_axis", f"{i}.txt", text)


def clip_tokenizer():
    texts = [
        "a photo of a cat",
        "A RED Circle next to two blue squares.",
        "<start_of_text>it's what we'll do<end_of_text>",
        "caf\u00e9 \u0130stanbul \u03a3\u039f\u03a6\u0399\u0391 \u65e5\u672c\u8a9e \U0001f600 123 4.5",
        "&amp;lt;b&amp;gt; &#39;quoted&#x27; &copy &nbsp;x &notanentity;",
        "  many\t\tspaces\n\nand\u3000ideographic\u2028separators  ",
    ]
    for i, text in enumerate(texts):
        write("clip_tokenizer", f"{i}.txt", text)
    write("clip_tokenizer", "invalid_utf8.bin", b"ok \xff\xfe \xc3 \xe2\x82 \xed\xa0\x80 \xf4\x90\x80\x80 end")


def caption_table():
    write("caption_table", "basic.tsv", "filepath\tcaption\nimg/0.png\ta red circle\nimg/1.jpg\ttwo squares\n")
    write("caption_table", "crlf.tsv", "filepath\tcaption\textra\r\na.png\tx\t1\r\n\r\nb.png\ty\t2\r\n")
    write("caption_table", "basic.csv", 'filepath,caption\nimg/0.png,"a ""quoted"" caption"\nimg/1.png,"multi\nline"\n')
    write("caption_table", "crlf.csv", "filepath,caption\r\na.png,\r\n\"b,c.png\",plain\r\n")
    write("caption_table", "basic.jsonl",
          '{"filepath": "img/0.png", "caption": "a cat"}\n\n{"caption": "\\u00e9t\\u00e9", "filepath": "b.png", "n": 1}\n')


def images():
    rgb = Image.new("RGB", (5, 3))
    rgb.putdata([(i * 40 % 256, i * 90 % 256, i * 13 % 256) for i in range(15)])
    for name, image, fmt, kwargs in [
        ("rgb.png", rgb, "PNG", {}),
        ("gray.png", rgb.convert("L"), "PNG", {}),
        ("rgba.png", rgb.convert("RGBA"), "PNG", {}),
        ("palette.png", rgb.convert("P"), "PNG", {}),
        ("gray16.png", rgb.convert("L").convert("I;16"), "PNG", {}),
        ("rgb.jpg", rgb.resize((8, 8)), "JPEG", {"quality": 50}),
        ("gray.jpg", rgb.convert("L").resize((8, 8)), "JPEG", {"quality": 50}),
        ("progressive.jpg", rgb.resize((8, 8)), "JPEG", {"progressive": True}),
        ("rgb.bmp", rgb, "BMP", {}),
        ("gray.bmp", rgb.convert("L"), "BMP", {}),
        ("rgb.ppm", rgb, "PPM", {}),
        ("rgb.webp", rgb, "WEBP", {"lossless": True}),
    ]:
        out = io.BytesIO()
        image.save(out, fmt, **kwargs)
        write("image_decode", name, out.getvalue())
    jpg = (CORPUS / "image_decode" / "seed-rgb.jpg").read_bytes()
    write("image_decode", "truncated.jpg", jpg[: len(jpg) - 20])


def weights():
    torch.manual_seed(0)
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    tensors = {
        "w": base,
        "b": torch.tensor([1.5, -2.0], dtype=torch.float16),
        "i": torch.tensor([[1, -2], [3, 4]], dtype=torch.int64),
        "m": torch.tensor([True, False, True]),
        "e": torch.empty(0, 2),
        "s": torch.tensor(7, dtype=torch.uint8),
    }
    write("safetensors", "mixed.safetensors",
          safetensors_bytes({k: v.contiguous() for k, v in tensors.items()}, metadata={"format": "pt", "model": "{}"}))
    write("safetensors", "bf16.safetensors", safetensors_bytes({"x": torch.ones(2, 2, dtype=torch.bfloat16)}))
    write("safetensors", "empty.safetensors", safetensors_bytes({}))
    header = b'{"__metadata__": {"a": "b"}, "t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}'
    write("safetensors", "by_hand.safetensors", struct.pack("<Q", len(header)) + header + bytes(8))

    def saved(obj):
        out = io.BytesIO()
        torch.save(obj, out)
        return out.getvalue()

    linear = torch.nn.Linear(3, 2)
    state = linear.state_dict()  # an OrderedDict of parameters, as every Python checkpoint has
    shared = {"full": base, "row": base[1], "col": base[:, 2], "t": base.t()}
    nested = collections.OrderedDict(model={"enc": {"w": base[:2].clone()}, "head": {"b": torch.zeros(2)}})
    dtypes = {"h": torch.ones(2, dtype=torch.float16), "bf": torch.ones(2, dtype=torch.bfloat16),
              "c": torch.ones(1, dtype=torch.complex64), "u16": torch.ones(2, dtype=torch.uint16),
              "b": torch.tensor([True])}
    for name, obj in [("state_dict.pt", state), ("shared.pt", shared), ("nested.pt", nested), ("dtypes.pt", dtypes),
                      ("param.pt", {"p": torch.nn.Parameter(torch.ones(2))})]:
        data = saved(obj)
        # The zip as torch.save writes it, and its data.pkl alone (fuzz/torch_save.cpp wraps a bare pickle
        # into an archive whose storage records are data/0..3 of 64 bytes, enough for these tensors).
        write("torch_save", name, data)
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            pkl = next(n for n in z.namelist() if n.endswith("/data.pkl"))
            write("torch_save", name.replace(".pt", ".pkl"), z.read(pkl))
    # Regressions of fixed defects, as bare pickles: lists nested 5000 deep, and 40 levels of dicts
    # that each hold one child twice (2^40 paths through the memo).
    write("torch_save", "deep.pkl", b"\x80\x02" + b"]" * 5000 + b"a" * 4999 + b".")
    shared = {}
    for _ in range(40):
        shared = {"a": shared, "b": shared}
    write("torch_save", "shared_child.pkl", pickle.dumps(shared, protocol=2))


if __name__ == "__main__":
    config_yaml()
    config_override()
    sweep_axis()
    clip_tokenizer()
    caption_table()
    images()
    weights()
    total = sum(p.stat().st_size for p in CORPUS.rglob("*") if p.is_file())
    print(f"seeds written under {CORPUS} ({total} bytes in all)")

#!/usr/bin/env python3
"""Converts an open_clip CLIP model to Loom: its state dict as a safetensors file (names and values as
they are; Loom's `clip` model uses open_clip's names) and a Loom `model:` YAML section describing the
architecture.

    convert_open_clip.py ViT-B-32 --pretrained laion2b_s34b_b79k --out b32.safetensors --config-out b32.yaml
    convert_open_clip.py ViT-B-32 --checkpoint epoch_32.pt --out b32.safetensors
    convert_open_clip.py ViT-S-32-alt --random-init --seed 0 --out s32.safetensors   # tests

Nothing is written before the model is known to fit: the model config is checked first (architecture,
then tokenizer; the first reason that applies is the one given), then the instantiated model, whose
architecture is what gets recorded, so what a pretrained tag changes (QuickGELU for OpenAI / laion400m /
MetaCLIP weights, SigLIP's mean and std) is captured. Only what Loom implements is accepted: ViT image
towers (class token or average pooling, optional ln_pre) and the standard causal text transformer with
EOT pooling, tokenized by open_clip's CLIP BPE; anything else is refused.

The weight file carries the model section in its metadata ("loom.model", JSON) and its architecture
fingerprint ("loom.architecture", the digest src/models/model_metadata.h describes), so Loom completes a
config from the file and refuses one that contradicts it. The section includes the model's evaluation
preprocessing (open_clip's preprocess_cfg) and its tokenizer.
"""
import argparse
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # loom_files, also when loaded by path
from loom_files import save_safetensors, write_text


def fail(message):
    sys.exit(f"convert_open_clip.py: {message}")


# Config keys of open_clip's CLIPVisionCfg / CLIPTextCfg that Loom reproduces, with the values it
# supports where it does not take any; every other key must keep open_clip's default.
VISION_KEYS = {"image_size", "layers", "width", "patch_size", "head_width", "mlp_ratio", "no_ln_pre", "pool_type",
               "global_average_pool", "patch_dropout", "output_tokens", "act_kwargs", "norm_kwargs"}
TEXT_KEYS = {"context_length", "vocab_size", "width", "heads", "layers", "mlp_ratio", "output_tokens",
             "act_kwargs", "norm_kwargs", "pool_type", "embed_cls", "pad_id", "eos_id", "hf_tokenizer_name",
             "tokenizer_kwargs"}
DEFAULT_OFF = {"ls_init_value": None, "attentional_pool": False, "final_ln_after_pool": False, "no_causal_mask": False,
               "proj_bias": False, "attn_pooler_queries": 256, "attn_pooler_heads": 8, "proj_type": "linear",
               "embed_cls": False}


# SigLIP's SentencePiece tokenizers (T5's unigram vocabularies, data/sentencepiece_tokenizer.h).
SENTENCEPIECE_TOKENIZERS = {"timm/ViT-B-16-SigLIP", "timm/ViT-B-16-SigLIP-i18n-256"}


def preflight(name, cfg):
    """The one reason open_clip config `cfg` cannot become a Loom model, checked before anything is
    instantiated, downloaded or written; None when it can (the instance is checked again)."""
    vision, text = cfg.get("vision_cfg", {}), cfg.get("text_cfg", {})
    if "timm_model_name" in vision:  # SigLIP: open_clip's CustomTextCLIP over a timm ViT
        timm_name = vision["timm_model_name"]
        if not timm_name.startswith("vit_"):
            return f"{name}: the image tower is timm's {timm_name}; Loom has ViT towers (open_clip's and timm's)"
        if "hf_model_name" in text:
            return f"{name}: the text tower is {text['hf_model_name']}; Loom has open_clip's text transformer"
        tokenizer = text.get("hf_tokenizer_name")
        if tokenizer not in SENTENCEPIECE_TOKENIZERS:
            return (f"{name}: its tokenizer is {tokenizer}, which Loom does not have (it has open_clip's CLIP BPE and "
                    "SigLIP's SentencePiece models, not SigLIP 2's Gemma tokenizer)")
        return None
    if cfg.get("custom_text") or "hf_model_name" in text:
        what = text.get("hf_model_name", "a custom text tower")
        return f"{name}: the text tower is {what}; Loom has open_clip's causal text transformer"
    for tower, keys, section in (("image", VISION_KEYS, vision), ("text", TEXT_KEYS, text)):
        for key, value in section.items():
            if key in keys:
                continue
            if key in DEFAULT_OFF and value == DEFAULT_OFF[key]:
                continue
            return f"{name}: the {tower} tower sets {key}={value!r}, which Loom does not implement"
    if text.get("pool_type", "argmax") not in ("argmax", "eos"):
        return f"{name}: text pooling '{text['pool_type']}' is not implemented (argmax, eos)"
    if vision.get("pool_type", "tok") not in ("tok", "avg"):
        return f"{name}: image pooling '{vision['pool_type']}' is not implemented (tok, avg)"
    if "hf_tokenizer_name" in text:
        return (f"{name}: its tokenizer is Hugging Face's {text['hf_tokenizer_name']}; Loom tokenizes with open_clip's "
                "CLIP BPE, so its tokens would be wrong")
    clean = text.get("tokenizer_kwargs", {}).get("clean", "lower")
    if clean != "lower":
        return f"{name}: its tokenizer cleans text with clean='{clean}'; Loom's CLIP tokenizer implements 'lower'"
    return None


# Keys of the model section that do not decide what the weights compute: the `clip` family's free keys
# in src/models/model_metadata.cpp, which the fingerprint leaves out on both sides.
FREE_KEYS = {"init_logit_scale", "init_logit_bias", "preprocess.mean", "preprocess.std", "preprocess.interpolation",
             "preprocess.resize_mode", "preprocess.fill_color", "text.tokenizer.path"}


def canonical_value(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(canonical_value(v) for v in value) + "]"
    if isinstance(value, (int, float)):
        x = float(value)
        if math.isfinite(x) and x == math.floor(x) and abs(x) < 2**53:
            return str(int(x))
        return "%.17g" % x
    return str(value)


def architecture_fingerprint(section, prefix=""):
    """The digest of src/models/model_metadata.cpp architecture_fingerprint: sorted "key.path=value" lines
    of every non-free value, 64-bit FNV-1a, 16 hex digits."""
    lines = []

    def walk(node, key):
        if key in FREE_KEYS:
            return
        if isinstance(node, dict):
            for name, value in node.items():
                walk(value, f"{key}.{name}" if key else name)
        else:
            lines.append(f"{key}={canonical_value(node)}")

    walk(section, prefix)
    h = 0xCBF29CE484222325
    for byte in "".join(line + "\n" for line in sorted(lines)).encode("utf-8"):
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def activation_name(act):
    import open_clip.transformer as oct

    if isinstance(act, oct.QuickGELU):
        return "quick_gelu"
    if isinstance(act, torch.nn.GELU):
        return "gelu_tanh" if act.approximate == "tanh" else "gelu"
    fail(f"unsupported activation {type(act).__name__}")


def mlp_ratio_of(hidden, width):
    """A ratio r with int(width * r) == hidden, the way open_clip and timm size their MLPs."""
    ratio = hidden / width
    return ratio if int(width * ratio) == hidden else (hidden + 0.5) / width


def layer_scale_value(module):
    """A layer scale's initial value (any: the weights replace it), None for none."""
    return None if isinstance(module, torch.nn.Identity) else float(module.gamma.detach().reshape(-1)[0])


def tower_settings(transformer, layer_scale=False):
    """heads, mlp_ratio, act, ln_eps (and ls_init_value) of a Transformer (all blocks are alike)."""
    block = transformer.resblocks[0]
    if not isinstance(block.attn, torch.nn.MultiheadAttention):
        fail("custom attention blocks (qk_norm, scaled cosine, ...) are not supported")
    if not layer_scale and not isinstance(block.ls_1, torch.nn.Identity):
        fail("layer scale (ls_init_value) in a CLIP tower is not supported")
    width = transformer.width
    settings = {
        "heads": block.attn.num_heads,
        "mlp_ratio": mlp_ratio_of(block.mlp.c_fc.out_features, width),
        "act": activation_name(block.mlp.gelu),
        "ln_eps": block.ln_1.eps,
    }
    if layer_scale and layer_scale_value(block.ls_1) is not None:
        settings["ls_init_value"] = layer_scale_value(block.ls_1)
    return settings


def siglip_model_config(model, cfg, tokenizer_model):
    """The Loom `siglip` section for an open_clip CustomTextCLIP over a timm ViT (models/clip/siglip.h)."""
    import open_clip

    trunk, text = model.visual.trunk, model.text
    if not isinstance(text, open_clip.transformer.TextTransformer):
        fail(f"text tower {type(text).__name__} is not supported")
    block = trunk.blocks[0]
    unsupported = [("register tokens", getattr(trunk, "num_reg_tokens", 0) > 0),
                   ("a norm before the blocks", not isinstance(trunk.norm_pre, torch.nn.Identity)),
                   ("q/k normalisation", not isinstance(block.attn.q_norm, torch.nn.Identity)),
                   ("embedding without class position", getattr(trunk, "no_embed_class", False)),
                   (f"pooling '{trunk.global_pool}'", trunk.global_pool not in ("map", "avg", "token")),
                   ("a non-square patch grid", trunk.patch_embed.grid_size[0] != trunk.patch_embed.grid_size[1])]
    for what, present in unsupported:
        if present:
            fail(f"the timm image tower has {what}, which Loom does not implement")
    act = block.mlp.act
    vision = {"image_size": trunk.patch_embed.img_size[0], "patch_size": trunk.patch_embed.patch_size[0],
              "width": trunk.embed_dim, "layers": len(trunk.blocks), "heads": block.attn.num_heads,
              "mlp_ratio": mlp_ratio_of(block.mlp.fc1.out_features, trunk.embed_dim),
              "act": "gelu_tanh" if getattr(act, "approximate", "none") == "tanh" else "gelu",
              "ln_eps": block.norm1.eps, "class_token": trunk.cls_token is not None, "pool": trunk.global_pool,
              "proj": "none" if isinstance(model.visual.head, torch.nn.Identity) or not hasattr(model.visual.head, "proj")
              else "linear"}
    if vision["proj"] == "linear":
        vision["proj_bias"] = model.visual.head.proj.bias is not None
    if layer_scale_value(block.ls1) is not None:
        vision["ls_init_value"] = layer_scale_value(block.ls1)
    pools = {"argmax": "argmax", "last": "last", "first": "first", "eos": "eot"}
    if text.pool_type not in pools:
        fail(f"text pooling '{text.pool_type}' is not implemented")
    text_section = {"context_length": text.context_length, "vocab_size": text.vocab_size, "width": text.width,
                    "layers": text.transformer.layers, **tower_settings(text.transformer, layer_scale=True),
                    "causal": text.attn_mask is not None, "pool": pools[text.pool_type]}
    if text.pool_type == "eos":
        text_section["eot_token_id"] = text.eos_id
    projection = text.text_projection
    text_section["proj_type"] = "none" if projection is None else "linear"
    text_section["proj_bias"] = isinstance(projection, torch.nn.Linear) and projection.bias is not None
    clean = cfg["text_cfg"].get("tokenizer_kwargs", {}).get("clean", "lower")
    text_section["tokenizer"] = {"name": "sentencepiece", "path": tokenizer_model or "", "clean": clean}
    config = {"name": "siglip", "embed_dim": cfg["embed_dim"], "vision": vision, "text": text_section,
              "init_logit_scale": float(model.logit_scale.detach().reshape(-1)[0]),
              "init_logit_bias": None if model.logit_bias is None else float(model.logit_bias.detach().reshape(-1)[0]),
              "preprocess": preprocess_section(model, vision["image_size"])}
    return config


def loom_model_config(model):
    """The Loom `model:` section (a dict) for an open_clip CLIP instance."""
    import open_clip

    if type(model) is not open_clip.CLIP:
        fail(f"{type(model).__name__} is not supported (only open_clip.CLIP with its own text transformer)")
    visual = model.visual
    if not isinstance(visual, open_clip.transformer.VisionTransformer):
        fail(f"image tower {type(visual).__name__} is not supported (ViT only)")
    if visual.attn_pool is not None or visual.final_ln_after_pool or visual.pool_type not in ("tok", "avg"):
        fail("attentional pooling / final_ln_after_pool / pool_type other than tok|avg are not supported")
    if visual.proj is None:
        fail("an image tower without projection is not supported")
    if model.text_pool_type not in ("argmax", "eos") or model.text_projection is None:
        fail(f"text pool_type '{model.text_pool_type}' or a missing text projection is not supported")
    if not isinstance(model.text_projection, torch.nn.Parameter) or model.attn_mask is None:
        fail("text projection with bias or a non-causal text tower is not supported")

    grid = visual.grid_size[0]
    patch = visual.conv1.kernel_size[0]
    vision = {
        "image_size": visual.image_size[0],
        "patch_size": patch,
        "width": visual.conv1.out_channels,
        "layers": visual.transformer.layers,
        **tower_settings(visual.transformer),
        "class_token": True,  # open_clip's ViT always has one
        "pool": visual.pool_type,
        "ln_pre": not isinstance(visual.ln_pre, torch.nn.Identity),
    }
    if visual.grid_size[0] != visual.grid_size[1]:
        fail("non-square image grids are not supported")
    assert visual.positional_embedding.shape[0] == grid * grid + 1
    text = {
        "context_length": model.context_length,
        "vocab_size": model.vocab_size,
        "width": model.transformer.width,
        "layers": model.transformer.layers,
        **tower_settings(model.transformer),
        # argmax pooling lands on the EOT token of the CLIP tokenizer, whose id is the largest.
        "eot_token_id": model.text_eos_id if model.text_pool_type == "eos" else 49407,
    }
    text["tokenizer"] = {"name": "clip", "clean": "lower"}
    config = {"name": "clip", "embed_dim": model.text_projection.shape[1], "quick_gelu": False,
              "vision": vision, "text": text, "init_logit_scale": float(model.logit_scale.detach().reshape(-1)[0]),
              "preprocess": preprocess_section(model, vision["image_size"])}
    if model.logit_bias is not None:
        config["init_logit_bias"] = float(model.logit_bias.detach().reshape(-1)[0])
    return config


def preprocess_section(model, image_size):
    """open_clip's evaluation preprocessing of this model (its preprocess_cfg) as Loom's `preprocess:`."""
    import open_clip

    cfg = open_clip.get_model_preprocess_cfg(model)
    size = cfg.get("size", image_size)
    if (size if isinstance(size, int) else tuple(size)) not in (image_size, (image_size, image_size)):
        fail(f"preprocessing size {size} differs from the image size {image_size}")
    if cfg.get("mode", "RGB") != "RGB":
        fail(f"preprocessing mode {cfg['mode']} is not implemented (RGB)")
    return {"mean": [float(v) for v in cfg["mean"]], "std": [float(v) for v in cfg["std"]],
            "interpolation": cfg.get("interpolation", "bicubic"), "resize_mode": cfg.get("resize_mode", "shortest"),
            "fill_color": int(cfg.get("fill_color", 0))}


def to_yaml(value, indent=0):
    """A small YAML writer for nested dicts of scalars (enough for a model section, no dependency)."""
    lines = []
    for key, item in value.items():
        if isinstance(item, dict):
            lines.append(" " * indent + f"{key}:")
            lines.append(to_yaml(item, indent + 2))
        else:
            if item is None:
                text = "null"
            elif isinstance(item, bool):
                text = "true" if item else "false"
            elif isinstance(item, float):
                text = repr(item) if math.isfinite(item) else fail(f"{key} is not finite")
            elif isinstance(item, list):
                text = "[" + ", ".join(repr(v) if isinstance(v, float) else str(v) for v in item) + "]"
            elif isinstance(item, str) and not item.replace("_", "").replace("-", "").isalnum():
                text = json.dumps(item)  # a JSON string is a YAML double-quoted scalar
            else:
                text = str(item)
            lines.append(" " * indent + f"{key}: {text}")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="open_clip model name, e.g. ViT-B-32")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--pretrained", help="open_clip pretrained tag (downloads the weights)")
    source.add_argument("--checkpoint", help="an open_clip checkpoint file (training checkpoints included)")
    source.add_argument("--random-init", action="store_true", help="open_clip's random initialisation (tests)")
    parser.add_argument("--seed", type=int, default=0, help="torch seed for --random-init")
    parser.add_argument("--out", required=True, help="output .safetensors file")
    parser.add_argument("--config-out", help="output YAML file with the Loom `model:` section")
    parser.add_argument("--tokenizer-model", help="SigLIP: the SentencePiece model file the weights were trained with "
                        "(recorded as model.text.tokenizer.path; it can also be given later)")
    args = parser.parse_args()

    import open_clip

    cfg = open_clip.get_model_config(args.model)
    if cfg is None:
        fail(f"unknown open_clip model '{args.model}' (see open_clip.list_models())")
    reason = preflight(args.model, cfg)
    if reason:
        fail(reason)
    kwargs = {}
    if args.pretrained:
        tag_cfg = open_clip.get_pretrained_cfg(args.model, args.pretrained)
        if not tag_cfg:
            fail(f"unknown pretrained tag '{args.pretrained}' for {args.model}")
        kwargs = {"pretrained": args.pretrained, "force_quick_gelu": bool(tag_cfg.get("quick_gelu", False))}
    elif args.checkpoint:
        kwargs = {"pretrained": args.checkpoint}
    else:
        torch.manual_seed(args.seed)
    model = open_clip.create_model(args.model, **kwargs).eval()

    # Refuses before anything is written.
    config = siglip_model_config(model, cfg, args.tokenizer_model) if "timm_model_name" in cfg["vision_cfg"] \
        else loom_model_config(model)
    state = {name: tensor.detach().contiguous() for name, tensor in model.state_dict().items()}
    metadata = {"open_clip_model": args.model, "source": args.pretrained or args.checkpoint or "random",
                "loom.model": json.dumps(config), "loom.architecture": architecture_fingerprint(config)}
    save_safetensors(state, args.out, metadata=metadata)
    if args.config_out:
        write_text(args.config_out,
                   f"# open_clip {args.model} ({args.pretrained or args.checkpoint or 'random init'}), written by convert_open_clip.py\n"
                   + to_yaml({"model": config}) + "\n")
    params = sum(t.numel() for t in state.values())
    print(f"{args.out}: {len(state)} tensors, {params:,} values, architecture {metadata['loom.architecture']}; "
          f"model section: {args.config_out or '(not written)'}")


if __name__ == "__main__":
    main()

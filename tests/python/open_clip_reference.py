"""Reference outputs of open_clip CLIP models for tests/models/clip/test_open_clip_parity.cpp.

    open_clip_reference.py OUTDIR                      the fixed cases below
    open_clip_reference.py --expect MODEL WEIGHTS OUT  outputs of open_clip MODEL loaded from WEIGHTS

For each case NAME: NAME.weights.safetensors (the state dict as is), NAME.io.safetensors (inputs
`images`, `tokens` and expected `image_features`, `text_features` (unnormalised) and `logits`), and one
cases.json with each case's open_clip config and parameter count. Weights are open_clip's random init
plus noise on every LayerNorm, bias and embedding, so no part of the network is the identity.
"""
import json
import os
import sys

import numpy as np
import open_clip
import torch
from safetensors.torch import load_file, save_file

CAPTIONS = ["a photo of a cat", "a diagram of a transformer block, drawn by hand", "two dogs playing in the snow"]
EOT = 49407


def perturb(model, generator):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() <= 1 or "embedding" in name:
                p.add_(0.1 * torch.randn(p.shape, generator=generator))


def images_for(model, generator, batch=2):
    size = model.visual.image_size
    return torch.randn((batch, 3, size[0], size[1]), generator=generator)


def expected(model, images, tokens):
    with torch.no_grad():
        image = model.encode_image(images)
        text = model.encode_text(tokens)
        logits = model.logit_scale.exp() * torch.nn.functional.normalize(image, dim=-1) @ torch.nn.functional.normalize(text, dim=-1).T
        if model.logit_bias is not None:
            logits = logits + model.logit_bias
    return {"images": images, "tokens": tokens, "image_features": image, "text_features": text, "logits": logits}


def save_case(outdir, name, model, io):
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(state, os.path.join(outdir, f"{name}.weights.safetensors"))
    save_file({k: v.contiguous() for k, v in io.items()}, os.path.join(outdir, f"{name}.io.safetensors"))
    return sum(p.numel() for p in model.parameters())


def small_model(vision_cfg, text_cfg, quick_gelu, **kwargs):
    return open_clip.CLIP(embed_dim=48, vision_cfg=vision_cfg, text_cfg=text_cfg, quick_gelu=quick_gelu, **kwargs).eval()


def reference_cases(outdir):
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(1)
    tokens = open_clip.tokenize(CAPTIONS)
    cases = {}

    # ViT-B-32 as open_clip builds it (GELU).
    model = open_clip.create_model("ViT-B-32").eval()
    perturb(model, generator)
    params = save_case(outdir, "vit_b32", model, expected(model, images_for(model, generator), tokens))
    cases["vit_b32"] = {"open_clip": open_clip.get_model_config("ViT-B-32"), "parameters": params}

    # A small custom model: QuickGELU, 3 heads of 32, a vocabulary larger than the CLIP tokenizer's
    # with EOS pooling (open_clip's pool_type 'eos' = first position equal to the id), and a logit bias.
    # The last caption has an id above the EOT id before its EOT: argmax pooling would land there.
    vision = {"image_size": 64, "patch_size": 8, "width": 96, "layers": 3, "head_width": 32}
    text = {"context_length": 77, "vocab_size": 49500, "width": 64, "heads": 4, "layers": 2, "pool_type": "eos", "eos_id": EOT}
    model = small_model(vision, text, quick_gelu=True, init_logit_bias=-10.0)
    perturb(model, generator)
    extra = open_clip.tokenize(["a photo of a dog"])
    extra[0, 2] = 49450
    small_tokens = torch.cat([tokens, extra])
    io = expected(model, images_for(model, generator), small_tokens)
    model.text_pool_type = "argmax"
    with torch.no_grad():
        io["text_features_argmax"] = model.encode_text(small_tokens)
    params = save_case(outdir, "small", model, io)
    cases["small"] = {"vision_cfg": vision, "text_cfg": text, "quick_gelu": True, "embed_dim": 48, "parameters": params}

    # Average pooling over the patch tokens, no ln_pre, tanh GELU and LayerNorm eps 1e-6 (RO-ViT's
    # settings). open_clip 3.3.0's ViT always has a class token, so avg pools the patch tokens.
    vision = {"image_size": 64, "patch_size": 16, "width": 64, "layers": 2, "head_width": 32, "pool_type": "avg",
              "no_ln_pre": True, "act_kwargs": {"approximate": "tanh"}, "norm_kwargs": {"eps": 1e-6}}
    text = {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2}
    model = small_model(vision, text, quick_gelu=False)
    perturb(model, generator)
    params = save_case(outdir, "avg_pool", model, expected(model, images_for(model, generator), tokens))
    cases["avg_pool"] = {"vision_cfg": vision, "text_cfg": text, "quick_gelu": False, "embed_dim": 48, "parameters": params}

    with open(os.path.join(outdir, "cases.json"), "w") as f:
        json.dump(cases, f, indent=1)


def expect(name, weights, out):
    model = open_clip.create_model(name).eval()
    model.load_state_dict(load_file(weights), strict=True)
    generator = torch.Generator().manual_seed(2)
    io = expected(model, images_for(model, generator), open_clip.tokenize(CAPTIONS))
    save_file({k: v.contiguous() for k, v in io.items()}, out)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--expect":
        expect(*sys.argv[2:])
    elif len(sys.argv) == 2:
        os.makedirs(sys.argv[1], exist_ok=True)
        reference_cases(sys.argv[1])
    else:
        sys.exit(__doc__)

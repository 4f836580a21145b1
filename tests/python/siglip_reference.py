"""Reference outputs of open_clip SigLIP models (CustomTextCLIP with a timm ViT tower) for
tests/models/clip/test_siglip_parity.cpp.

    siglip_reference.py OUTDIR

For each case NAME: NAME.weights.safetensors (the state dict as is) and NAME.io.safetensors (inputs
`images`, `tokens`; expected `image_features`, `text_features` (unnormalised) and `logits`), and one
cases.json with each case's config, the timm overrides and its parameter count. Weights are open_clip's
random init plus noise on every LayerNorm, bias, layer scale, embedding and latent, so no part of the
network is the identity.

Small towers are built by open_clip's own code (CustomTextCLIP -> TimmModel -> timm.create_model) from a
modified config; timm.create_model gets the size overrides (depth, width, ...) that open_clip's configs
cannot express for a timm tower.
"""
import contextlib
import json
import os
import sys
from unittest import mock

import open_clip
import open_clip.timm_model
import torch
from safetensors.torch import save_file


def perturb(model, generator):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() <= 1 or "embed" in name or "latent" in name or "cls_token" in name:
                p.add_(0.1 * torch.randn(p.shape, generator=generator))


@contextlib.contextmanager
def timm_overrides(**overrides):
    """Adds keyword arguments to the timm.create_model call open_clip's TimmModel makes."""
    create = open_clip.timm_model.timm.create_model
    with mock.patch.object(open_clip.timm_model.timm, "create_model", lambda *a, **k: create(*a, **{**k, **overrides})):
        yield


def tokens_for(vocab, context, generator, batch=3):
    """Random ids with SigLIP's shape of a row: text, then the end/pad id 1 to the end (one full row)."""
    tokens = torch.randint(3, vocab, (batch, context), generator=generator)
    for row, length in enumerate([context // 3, context - 1, context]):
        tokens[row, length:] = 1
    return tokens


def expected(model, images, tokens):
    with torch.no_grad():
        image = model.encode_image(images)
        text = model.encode_text(tokens)
        logits = model.logit_scale.exp() * torch.nn.functional.normalize(image, dim=-1) @ torch.nn.functional.normalize(text, dim=-1).T
        if model.logit_bias is not None:
            logits = logits + model.logit_bias
    return {"images": images, "tokens": tokens, "image_features": image, "text_features": text, "logits": logits}


def save_case(outdir, name, model, generator):
    model.eval()
    perturb(model, generator)
    size = model.visual.trunk.patch_embed.img_size
    images = torch.randn((2, 3, size[0], size[1]), generator=generator)
    io = expected(model, images, tokens_for(model.vocab_size, model.context_length, generator))
    save_file({k: v.detach().contiguous() for k, v in model.state_dict().items()}, os.path.join(outdir, f"{name}.weights.safetensors"))
    save_file({k: v.contiguous() for k, v in io.items()}, os.path.join(outdir, f"{name}.io.safetensors"))
    return sum(p.numel() for p in model.parameters())


def custom_text_clip(config, **timm_kwargs):
    config = {k: v for k, v in config.items() if k != "custom_text"}
    with timm_overrides(**timm_kwargs):
        return open_clip.model.CustomTextCLIP(**config)


def reference_cases(outdir):
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(1)
    cases = {}

    # ViT-B-16-SigLIP exactly as open_clip builds it.
    model = open_clip.create_model("ViT-B-16-SigLIP")
    cases["b16"] = {"open_clip": open_clip.get_model_config("ViT-B-16-SigLIP"), "parameters": save_case(outdir, "b16", model, generator)}

    # SO400M's shapes (width 1152, 16 heads, MLP 4304, patch 14, context 16) at depth 1 in each tower.
    config = open_clip.get_model_config("ViT-SO400M-14-SigLIP")
    config["text_cfg"].update(layers=1, vocab_size=1000)
    timm_kwargs = {"depth": 1}
    model = custom_text_clip(config, **timm_kwargs)
    cases["so400m"] = {"open_clip": config, "timm": timm_kwargs, "parameters": save_case(outdir, "so400m", model, generator)}

    # ViT-B-16-SigLIP-384's image and patch sizes at a small width, tanh GELU in both towers (SigLIP 2,
    # SO400M/16), a 256-id vocabulary.
    config = open_clip.get_model_config("ViT-B-16-SigLIP-384")
    config["embed_dim"] = 64
    config["text_cfg"].update(width=64, heads=2, layers=2, vocab_size=256, context_length=24,
                              act_kwargs={"approximate": "tanh"})
    timm_kwargs = {"embed_dim": 64, "depth": 2, "num_heads": 2, "act_layer": "gelu_tanh"}
    model = custom_text_clip(config, **timm_kwargs)
    cases["b16_384_small"] = {"open_clip": config, "timm": timm_kwargs, "parameters": save_case(outdir, "b16_384_small", model, generator)}

    # The other layouts: class token with token pooling, layer scale in both towers, open_clip's linear
    # head with bias; a causal text tower pooled at the highest id with a plain projection matrix.
    config = {"embed_dim": 40, "init_logit_bias": None,
              "vision_cfg": {"image_size": 64, "timm_model_name": "vit_base_patch16_siglip_224", "timm_pool": "token",
                             "timm_proj": "linear", "timm_proj_bias": True},
              "text_cfg": {"context_length": 12, "vocab_size": 300, "width": 48, "heads": 3, "layers": 2,
                           "ls_init_value": 0.1, "pool_type": "argmax", "norm_kwargs": {"eps": 1e-6}}}
    timm_kwargs = {"img_size": 64, "patch_size": 8, "embed_dim": 96, "depth": 2, "num_heads": 3, "mlp_ratio": 3.0,
                   "class_token": True, "init_values": 0.1}
    model = custom_text_clip(config, **timm_kwargs)
    cases["token_ls_linear"] = {"open_clip": config, "timm": timm_kwargs, "parameters": save_case(outdir, "token_ls_linear", model, generator)}

    # Average pooling (timm's fc_norm after the mean) and a text tower without projection pooled at the
    # first position.
    config = {"embed_dim": 32, "init_logit_bias": -10,
              "vision_cfg": {"image_size": 32, "timm_model_name": "vit_base_patch16_siglip_224", "timm_pool": "avg",
                             "timm_proj": "none"},
              "text_cfg": {"context_length": 8, "vocab_size": 100, "width": 32, "heads": 2, "layers": 1,
                           "no_causal_mask": True, "pool_type": "first", "proj_type": "none"}}
    timm_kwargs = {"img_size": 32, "patch_size": 8, "embed_dim": 32, "depth": 1, "num_heads": 2}
    model = custom_text_clip(config, **timm_kwargs)
    cases["avg_no_proj"] = {"open_clip": config, "timm": timm_kwargs, "parameters": save_case(outdir, "avg_no_proj", model, generator)}

    with open(os.path.join(outdir, "cases.json"), "w") as f:
        json.dump(cases, f, indent=1)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    os.makedirs(sys.argv[1], exist_ok=True)
    reference_cases(sys.argv[1])

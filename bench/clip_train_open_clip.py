#!/usr/bin/env python3
"""open_clip's side of scripts/bench_clip_vs_open_clip: forward + backward + AdamW step of an open_clip
model on random images and token ids (eot at a random position), ClipLoss, float32 on CPU.

usage: clip_train_open_clip.py [--fused] (ViT-B-32 | tiny) [batch=64] [steps=10] [warmup=3]
--fused uses torch's fused AdamW (the default on CPU is the per-parameter loop open_clip gets).
tiny is configs/clip/models/tiny.yaml: 32 px, patch 8, width 64, 2 layers, 2 heads; text 32 tokens,
width 64, 2 layers, 2 heads; embed 64; exact GELU.
"""
import sys
import time

import open_clip
import torch
from open_clip.loss import ClipLoss


def build(name):
    if name == "tiny":
        return open_clip.CLIP(embed_dim=64,
                              vision_cfg=dict(image_size=32, patch_size=8, width=64, layers=2, head_width=32),
                              text_cfg=dict(context_length=32, vocab_size=49408, width=64, heads=2, layers=2))
    return open_clip.create_model(name)


def main(name, batch=64, steps=10, warmup=3, fused=False):
    torch.manual_seed(0)
    model = build(name).train()
    size = model.visual.image_size[0] if isinstance(model.visual.image_size, tuple) else model.visual.image_size
    context = model.context_length
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.1, fused=fused or None)
    loss = ClipLoss()
    images = torch.randn(batch, 3, size, size)
    tokens = torch.randint(1, 49406, (batch, context))
    tokens.scatter_(1, torch.randint(1, context, (batch, 1)), 49407)

    def step():
        optimizer.zero_grad()
        image_features, text_features, logit_scale = model(images, tokens)[:3]
        l = loss(image_features, text_features, logit_scale)
        l.backward()
        optimizer.step()

    for _ in range(warmup):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    seconds = time.perf_counter() - start
    print(f"open_clip{'+fused' if fused else ''} {name:<28} batch {batch} threads {torch.get_num_threads()}: "
          f"{batch * steps / seconds:.1f} samples/s ({1000 * seconds / steps:.1f} ms/step)")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--fused"]
    if not args:
        sys.exit(__doc__)
    main(args[0], *[int(a) for a in args[1:]], fused="--fused" in sys.argv)

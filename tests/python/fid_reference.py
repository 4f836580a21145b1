"""Reference values for tests/eval/test_fid_kid.cpp (loom::eval FID, KID, Inception-v3).

  fid_reference.py inception OUT_DIR
      pytorch-fid's InceptionV3 (use_fid_inception=True: the FIDInception* blocks) with random weights and
      random BatchNorm statistics (the real weights need a download). Writes
        inception_state.safetensors  torchvision Inception3 names (fc.*, num_batches_tracked included)
        inception3_state.pth         the same state dict through torch.save
        pytorch_fid_wrapper.pth      pytorch-fid's InceptionV3 wrapper state dict ("blocks.0.0.conv.weight", ...)
        inception_features.safetensors  images64 [3,3,64,64], images299 [2,3,299,299] in [0, 1] and their
                                        pool3 features features64 / features299 [N, 2048]
  fid_reference.py stats OUT.safetensors
      Random feature sets "<case>.a", "<case>.b" with
        "<case>.fid_scipy"  |mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr(real(scipy.linalg.sqrtm(S_a S_b)))
        "<case>.fid_pytorch_fid"  pytorch_fid.fid_score.calculate_frechet_distance
        "<case>.kid"        NVlabs' KID formula with one subset holding every row (no sampling)
      for cases d64 (n=300 > d) and d512 (n=150: singular covariances; scipy's sqrtm of a singular 1024²
      product takes 30 s, 512² a few).
"""
import os
import sys

import numpy as np
import scipy.linalg
import torch
import torchvision
from safetensors.torch import save_file

import pytorch_fid.inception as pfi
from pytorch_fid.fid_score import calculate_frechet_distance


def random_inception_state(gen):
    # Same parameter shapes as pytorch-fid's fid_inception_v3 (its FIDInception* blocks subclass these).
    template = torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=False, num_classes=1008)
    state = {}
    for name, t in template.state_dict().items():
        if name.endswith("num_batches_tracked"):
            state[name] = torch.tensor(7, dtype=torch.long)
        elif name.endswith("conv.weight"):
            fan_in = t[0].numel()
            state[name] = torch.randn(t.shape, generator=gen) * (2.0 / fan_in) ** 0.5
        elif name.endswith("bn.weight"):
            state[name] = 0.5 + torch.rand(t.shape, generator=gen)
        elif name.endswith("bn.bias") or name.endswith("running_mean"):
            state[name] = 0.1 * torch.randn(t.shape, generator=gen)
        elif name.endswith("running_var"):
            state[name] = 0.5 + 1.5 * torch.rand(t.shape, generator=gen)
        else:  # fc
            state[name] = 0.01 * torch.randn(t.shape, generator=gen)
    return state


def inception(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    gen = torch.Generator().manual_seed(2015)
    state = random_inception_state(gen)
    # Run pytorch-fid's own construction (block patching, strict load) with the random state dict in
    # place of the downloaded one.
    pfi.load_state_dict_from_url = lambda *args, **kwargs: state
    model = pfi.InceptionV3([pfi.InceptionV3.BLOCK_INDEX_BY_DIM[2048]], use_fid_inception=True).eval()
    assert isinstance(model.blocks[3][2], pfi.FIDInceptionE_2)
    images64 = torch.rand(3, 3, 64, 64, generator=gen)
    images299 = torch.rand(2, 3, 299, 299, generator=gen)
    with torch.no_grad():
        f64 = model(images64)[0].flatten(1)
        f299 = model(images299)[0].flatten(1)
    save_file({k: v.contiguous() for k, v in state.items()}, os.path.join(out_dir, "inception_state.safetensors"))
    torch.save(state, os.path.join(out_dir, "inception3_state.pth"))
    torch.save(model.state_dict(), os.path.join(out_dir, "pytorch_fid_wrapper.pth"))
    save_file({"images64": images64, "images299": images299, "features64": f64.contiguous(),
               "features299": f299.contiguous()}, os.path.join(out_dir, "inception_features.safetensors"))


def fid_scipy(a, b):
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(s_a @ s_b)
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(s_a) + np.trace(s_b) - 2 * np.trace(root.real))


def kid_nvlabs(x, y):
    # stylegan2-ada-pytorch metrics/kernel_inception_distance.py with m = n: every row, no sampling.
    n = x.shape[1]
    m = x.shape[0]
    a = (x @ x.T / n + 1) ** 3 + (y @ y.T / n + 1) ** 3
    b = (x @ y.T / n + 1) ** 3
    t = (a.sum() - np.diag(a).sum()) / (m - 1) - b.sum() * 2 / m
    return float(t / m)


def stats(out_path):
    rng = np.random.default_rng(5)
    tensors = {}
    for case, n, d in (("d64", 300, 64), ("d512", 150, 512)):
        # Non-negative, correlated, Inception-like features; b is shifted and differently mixed.
        mix = rng.standard_normal((d, d)) / np.sqrt(d)
        a = np.maximum(rng.standard_normal((n, d)) @ mix, 0.0)
        b = np.maximum((rng.standard_normal((n, d)) + 0.3) @ (mix + 0.2 * rng.standard_normal((d, d)) / np.sqrt(d)), 0.0)
        mu_a, mu_b = a.mean(0), b.mean(0)
        s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
        tensors[f"{case}.a"] = torch.from_numpy(a)
        tensors[f"{case}.b"] = torch.from_numpy(b)
        tensors[f"{case}.fid_scipy"] = torch.tensor(fid_scipy(a, b), dtype=torch.float64)
        if d <= 64:  # the same scipy sqrtm again: only worth its time on the small case
            tensors[f"{case}.fid_pytorch_fid"] = torch.tensor(calculate_frechet_distance(mu_a, s_a, mu_b, s_b),
                                                              dtype=torch.float64)
        tensors[f"{case}.kid"] = torch.tensor(kid_nvlabs(a, b), dtype=torch.float64)
    save_file(tensors, out_path)


if __name__ == "__main__":
    {"inception": inception, "stats": stats}[sys.argv[1]](sys.argv[2])

"""Reference values for tests/losses/perceptual (loom's LPIPS) from the lpips package 0.1.4 itself.

  lpips_reference.py lpips NET SEED OUT_DIR   NET = vgg | alex
      torch.manual_seed(SEED); lpips.LPIPS(net=NET, pnet_rand=True) (a random torchvision backbone, the
      package's shipped v0.1 heads). Writes its state_dict to OUT_DIR/state.safetensors and, to
      OUT_DIR/reference.safetensors, per size "{H}x{W}." + x0, x1 [2, 3, H, W] in [-1, 1] and
        total, layer{k}                  forward(x0, x1, retPerLayer=True), flattened to [N]
        spatial_total, spatial_layer{k}  the same model with spatial=True, [N, 1, H, W]
        grad_x0, grad_x1                 d total.sum() / d x0 and d x1
        spatial_grad_x0                  d spatial_total.sum() / d x0
  lpips_reference.py converter OUT_DIR
      Inputs and expectations for scripts/convert_lpips.py:
        wheel.txt          the installed lpips package's folder (its weights/v0.1/*.pth are the inputs)
        heads.safetensors  the wheel's v0.1 heads as LPIPS.__init__ loads them (torch.load of the file),
                           "{vgg,alex}.lin{k}.model.1.weight"
        nodropout_vgg.pth  the vgg heads under the names LPIPS(use_dropout=False) gives them (its NetLinLayer
                           is Sequential(conv), so lin{k}.model.0.weight and lins.{k}.model.0.weight): the
                           key trap, in the legacy torch.save format the wheel's files use
        alexnet_tv.pth     torchvision AlexNet() features plus a classifier entry, legacy format as
                           torchvision's 2017 downloads are
"""
import os
import sys
import warnings

import torch
import torchvision
from safetensors.torch import save_file

warnings.filterwarnings("ignore", category=UserWarning)  # torchvision's pretrained= deprecation
import lpips  # noqa: E402

SIZES = ((64, 64), (64, 48))


def contiguous(state):
    # lin{k} and lins.{k} share storage; safetensors wants separate tensors.
    return {k: v.detach().clone().contiguous() for k, v in state.items()}


def lpips_outputs(net, seed, tensors):
    torch.manual_seed(seed)
    model = lpips.LPIPS(net=net, pnet_rand=True, verbose=False)
    gen = torch.Generator().manual_seed(100 + seed)
    for h, w in SIZES:
        p = f"{h}x{w}."
        x0 = torch.rand(2, 3, h, w, generator=gen) * 2 - 1
        x1 = (x0 + 0.5 * torch.randn(2, 3, h, w, generator=gen)).clamp(-1, 1)
        tensors[p + "x0"], tensors[p + "x1"] = x0, x1
        # d/dx0 does not depend on whether x1 requires grad, so one backward gives both gradients.
        a, b = x0.clone().requires_grad_(True), x1.clone().requires_grad_(True)
        total, layers = model(a, b, retPerLayer=True)
        tensors[p + "grad_x0"], tensors[p + "grad_x1"] = torch.autograd.grad(total.sum(), (a, b))
        tensors[p + "total"] = total.detach().flatten()
        for k, layer in enumerate(layers):
            tensors[p + f"layer{k}"] = layer.detach().flatten()
        model.spatial = True  # forward() reads the flag; the weights stay the same
        a = x0.clone().requires_grad_(True)
        total, layers = model(a, x1, retPerLayer=True)
        tensors[p + "spatial_grad_x0"] = torch.autograd.grad(total.sum(), a)[0]
        tensors[p + "spatial_total"] = total.detach()
        for k, layer in enumerate(layers):
            tensors[p + f"spatial_layer{k}"] = layer.detach().contiguous()
        model.spatial = False
    return contiguous(model.state_dict())


def main_lpips(net, seed, out_dir):
    tensors = {}
    save_file(lpips_outputs(net, seed, tensors), os.path.join(out_dir, "state.safetensors"))
    save_file({k: v.contiguous() for k, v in tensors.items()}, os.path.join(out_dir, "reference.safetensors"))


def main_converter(out_dir):
    wheel = os.path.dirname(lpips.__file__)
    with open(os.path.join(out_dir, "wheel.txt"), "w") as f:
        f.write(wheel)
    heads = {}
    for net in ("alex", "vgg"):
        # What LPIPS.__init__ loads (load_state_dict(torch.load(path), strict=False)), without its backbone.
        state = torch.load(os.path.join(wheel, "weights", "v0.1", f"{net}.pth"), map_location="cpu")
        for k in range(5):
            heads[f"{net}.lin{k}.model.1.weight"] = state[f"lin{k}.model.1.weight"]
    save_file(heads, os.path.join(out_dir, "heads.safetensors"))
    legacy = dict(_use_new_zipfile_serialization=False)
    trap = {}
    for k in range(5):
        trap[f"lin{k}.model.0.weight"] = trap[f"lins.{k}.model.0.weight"] = heads[f"vgg.lin{k}.model.1.weight"]
    torch.save(trap, os.path.join(out_dir, "nodropout_vgg.pth"), **legacy)
    torch.manual_seed(0)
    state = {f"features.{k}": v for k, v in torchvision.models.AlexNet().features.state_dict().items()}
    state["classifier.6.bias"] = torch.zeros(1000)
    torch.save(state, os.path.join(out_dir, "alexnet_tv.pth"), **legacy)


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "lpips":
        main_lpips(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif mode == "converter":
        main_converter(sys.argv[2])
    else:
        sys.exit(f"unknown mode {mode!r}")

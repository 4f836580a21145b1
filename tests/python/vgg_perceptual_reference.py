"""Reference values for tests/losses/perceptual (loom's vgg_l1 and vgg_style) from torchvision compositions.

  vgg_perceptual_reference.py OUT_DIR

torch.manual_seed(0), then torchvision's VGG16 and VGG19 `features` (vgg.make_layers with VGG's
_initialize_weights for convs: kaiming_normal fan_out/relu, bias 0; the classifier, which the losses never
use, is not built). Writes their state dicts as torchvision names them, plus a classifier entry as
torchvision files carry one, to
OUT_DIR/vgg{16,19}_features.safetensors, and to OUT_DIR/reference.safetensors:
  x, t                       [2, 3, 64, 48] in [-1, 1]; big_x, big_t [2, 3, 96, 96] (compared at 64: max_size)
  l1.layer{k}, l1.total      MobileStyleGAN core/loss/perceptual_loss.py (PerceptualLoss with arch vgg16 and
                             its default layers 3/8/15/22 = relu1_2/2_2/3_3/4_3): the image as is, F.l1_loss
                             per layer (here per sample), summed; l1.grad_x = d total.sum() / d x, t constant
  l1.big_total               the same on big_x, big_t resized bilinearly (align_corners False) to 64x64 first,
                             as PerceptualLoss(size=64) does
  style.content{k}, style.style{k}
                             MediaPipe mediapipe/model_maker/python/core/utils/loss_functions.py
                             (VGGPerceptualLoss, PerceptualLoss._get_content_loss/_get_style_loss,
                             _compute_gram_matrix) on VGG19 relu1_1/2_1/3_1/4_1/5_1 (indices 1/6/11/20/29):
                             (x + 1) / 2 normalised with ImageNet mean/std; content mean|fx - ft|, style
                             mean|G(fx) - G(ft)| with G = F F^T / (C H W); per sample, unweighted
  style.total, style.grad_x  4 * sum_k w_k content_k + 1 * sum_k w_k style_k, w = (.1, .1, 1, 1, 1)
  style.total_last           4 * sum_k w_k content_k + 1 * w_5 style_5 (what MediaPipe's code returns:
                             _get_style_loss sums only the last loop value)
"""
import os
import sys

import torch
import torch.nn.functional as F
from torchvision.models.vgg import cfgs, make_layers
from safetensors.torch import save_file

L1_LAYERS = ("3", "8", "15", "22")
STYLE_LAYERS = ("1", "6", "11", "20", "29")
FEATURE_WEIGHT = (0.1, 0.1, 1.0, 1.0, 1.0)
CONTENT, STYLE = 4.0, 1.0
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def taps(features, x, layers):
    # PerceptualNetwork.forward: run features module by module, keep the named outputs.
    out = []
    for name, module in features._modules.items():
        x = module(x)
        if name in layers:
            out.append(x.clone())  # the next ReLU may be in place
        if name == layers[-1]:
            break
    return out


def per_sample_l1(a, b):
    return (a - b).abs().flatten(1).mean(1)


def gram(f):
    n, c, h, w = f.shape
    flat = f.reshape(n, c, h * w)
    return flat @ flat.transpose(1, 2) / (c * h * w)


def vgg_features(config):
    features = make_layers(cfgs[config])
    for m in features.modules():
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            torch.nn.init.constant_(m.bias, 0)
    return features.eval().requires_grad_(False)


def save_features(features, path):
    state = {f"features.{k}": v.clone() for k, v in features.state_dict().items()}
    state["classifier.6.bias"] = torch.zeros(1000)
    save_file(state, path)


def main(out_dir):
    torch.manual_seed(0)
    vgg16, vgg19 = vgg_features("D"), vgg_features("E")
    save_features(vgg16, os.path.join(out_dir, "vgg16_features.safetensors"))
    save_features(vgg19, os.path.join(out_dir, "vgg19_features.safetensors"))

    gen = torch.Generator().manual_seed(7)
    x = torch.rand(2, 3, 64, 48, generator=gen) * 2 - 1
    t = (x + 0.5 * torch.randn(2, 3, 64, 48, generator=gen)).clamp(-1, 1)
    big_x = torch.rand(2, 3, 96, 96, generator=gen) * 2 - 1
    big_t = torch.rand(2, 3, 96, 96, generator=gen) * 2 - 1
    out = {"x": x, "t": t, "big_x": big_x, "big_t": big_t}

    xg = x.clone().requires_grad_(True)
    layers = [per_sample_l1(a, b) for a, b in zip(taps(vgg16, xg, L1_LAYERS), taps(vgg16, t, L1_LAYERS))]
    total = sum(layers)
    out["l1.grad_x"] = torch.autograd.grad(total.sum(), xg)[0]
    out["l1.total"] = total.detach()
    for k, layer in enumerate(layers):
        out[f"l1.layer{k}"] = layer.detach()
    small = [F.interpolate(v, size=64, mode="bilinear", align_corners=False) for v in (big_x, big_t)]
    fa, fb = taps(vgg16, small[0], L1_LAYERS), taps(vgg16, small[1], L1_LAYERS)
    out["l1.big_total"] = sum(per_sample_l1(a, b) for a, b in zip(fa, fb))

    def normalised(img):
        return ((img + 1) / 2 - MEAN) / STD

    xg = x.clone().requires_grad_(True)
    fx = taps(vgg19, normalised(xg), STYLE_LAYERS)
    ft = taps(vgg19, normalised(t), STYLE_LAYERS)
    content = [per_sample_l1(a, b) for a, b in zip(fx, ft)]
    style = [(gram(a) - gram(b)).abs().flatten(1).mean(1) for a, b in zip(fx, ft)]
    weighted_content = sum(w * c for w, c in zip(FEATURE_WEIGHT, content))
    total = CONTENT * weighted_content + STYLE * sum(w * s for w, s in zip(FEATURE_WEIGHT, style))
    out["style.grad_x"] = torch.autograd.grad(total.sum(), xg)[0]
    out["style.total"] = total.detach()
    out["style.total_last"] = (CONTENT * weighted_content + STYLE * FEATURE_WEIGHT[-1] * style[-1]).detach()
    for k in range(len(STYLE_LAYERS)):
        out[f"style.content{k}"] = content[k].detach()
        out[f"style.style{k}"] = style[k].detach()
    save_file({k: v.contiguous() for k, v in out.items()}, os.path.join(out_dir, "reference.safetensors"))


if __name__ == "__main__":
    main(sys.argv[1])

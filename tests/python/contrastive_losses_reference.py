"""Reference values for tests/losses (loom's CLIP and SigLIP losses) from open_clip.

  contrastive_losses_reference.py OUT.safetensors

For each case "<dtype>_b<B>" the file holds random L2-normalised features "<case>.image" and
"<case>.text" [B, D], an exp'd logit scale "<case>.scale" and a bias "<case>.bias" (0-d), and for each
variant "<case>.<variant>.{loss, grad_image, grad_text, grad_scale[, grad_bias]}":
  clip       open_clip.loss.ClipLoss, no bias
  clip_bias  open_clip.loss.ClipLoss with logit_bias
  clip_ls    ClipLoss's formula with F.cross_entropy(label_smoothing=LABEL_SMOOTHING) (open_clip has no option)
  siglip     open_clip.loss.SigLipLoss
"""
import sys

import torch
import torch.nn.functional as F
from open_clip.loss import ClipLoss, SigLipLoss
from safetensors.torch import save_file

LABEL_SMOOTHING = 0.1


def clip_label_smoothing(image, text, scale):
    logits = scale * image @ text.T
    labels = torch.arange(image.shape[0])
    return (F.cross_entropy(logits, labels, label_smoothing=LABEL_SMOOTHING)
            + F.cross_entropy(logits.T, labels, label_smoothing=LABEL_SMOOTHING)) / 2


VARIANTS = {
    "clip": (lambda i, t, s, b: ClipLoss()(i, t, s), False),
    "clip_bias": (lambda i, t, s, b: ClipLoss()(i, t, s, b), True),
    "clip_ls": (lambda i, t, s, b: clip_label_smoothing(i, t, s), False),
    "siglip": (lambda i, t, s, b: SigLipLoss()(i, t, s, b), True),
}


def main(out_path):
    gen = torch.Generator().manual_seed(1234)
    tensors = {}
    for dtype, dname in ((torch.float64, "f64"), (torch.float32, "f32")):
        for batch, dim in ((1, 8), (5, 16), (32, 24)):
            case = f"{dname}_b{batch}"
            image = F.normalize(torch.randn(batch, dim, generator=gen, dtype=dtype), dim=-1)
            # Half the text rows lean towards their image so positives are not all at chance.
            text = F.normalize(torch.randn(batch, dim, generator=gen, dtype=dtype) + 2 * image, dim=-1)
            scale = torch.empty((), dtype=dtype).uniform_(5.0, 100.0, generator=gen)
            bias = torch.empty((), dtype=dtype).uniform_(-10.0, 0.0, generator=gen)
            tensors.update({f"{case}.image": image, f"{case}.text": text, f"{case}.scale": scale,
                            f"{case}.bias": bias})
            for variant, (fn, uses_bias) in VARIANTS.items():
                leaves = [x.clone().requires_grad_(True) for x in (image, text, scale, bias)]
                loss = fn(*leaves)
                names = ["grad_image", "grad_text", "grad_scale"] + (["grad_bias"] if uses_bias else [])
                grads = torch.autograd.grad(loss, leaves[:len(names)])
                tensors[f"{case}.{variant}.loss"] = loss.detach()
                for name, grad in zip(names, grads):
                    tensors[f"{case}.{variant}.{name}"] = grad.contiguous()
    save_file(tensors, out_path)


if __name__ == "__main__":
    main(sys.argv[1])

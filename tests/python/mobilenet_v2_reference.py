"""Reference features for tests/models/encoder (loom's MobileNetV2 backbone, models/encoder/mobilenet_v2.h).

  mobilenet_v2_reference.py OUT_DIR

Follows torchvision/models/mobilenetv2.py (torchvision 0.26): for each width multiplier in WIDTHS,
torch.manual_seed(0), torchvision.models.mobilenet_v2(width_mult=W) without weights, then every
BatchNorm's affine and running statistics redrawn (so eval mode's normalisation is not the identity)
and the model put in eval mode. Writes
  OUT_DIR/mobilenet_v2_w{W}.safetensors   its whole state dict under torchvision's names (classifier,
                                          features.18 and num_batches_tracked included)
  OUT_DIR/mobilenet_v2_w{W}.pth           the same through torch.save (zip format)
  OUT_DIR/mobilenet_v2_w{W}_taps.safetensors
      x        [2, 3, 64, 64] normal input (already ImageNet-normalised: the backbone's input)
      stage{s} features after the stem (s = 0) and after each inverted-residual stage s = 1..7
"""
import os
import sys

import torch
import torchvision
from safetensors.torch import save_file

WIDTHS = ("1.0", "0.35")
STAGE_ENDS = (0, 1, 3, 6, 10, 13, 16, 17)  # features index after the stem and each of the 7 stages


def main(out):
    os.makedirs(out, exist_ok=True)
    for width in WIDTHS:
        torch.manual_seed(0)
        model = torchvision.models.mobilenet_v2(width_mult=float(width))
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, torch.nn.BatchNorm2d):
                    m.weight.uniform_(0.5, 1.5)
                    m.bias.normal_(0, 0.1)
                    m.running_mean.normal_(0, 0.1)
                    m.running_var.uniform_(0.5, 2.0)
        model.eval()
        state = {k: v.contiguous() for k, v in model.state_dict().items()}
        save_file(state, os.path.join(out, f"mobilenet_v2_w{width}.safetensors"))
        torch.save(model.state_dict(), os.path.join(out, f"mobilenet_v2_w{width}.pth"))

        x = torch.randn(2, 3, 64, 64)
        taps = {"x": x}
        with torch.no_grad():
            h = x
            for i, layer in enumerate(model.features):
                h = layer(h)
                if i in STAGE_ENDS:
                    taps[f"stage{STAGE_ENDS.index(i)}"] = h.clone()
        save_file(taps, os.path.join(out, f"mobilenet_v2_w{width}_taps.safetensors"))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))

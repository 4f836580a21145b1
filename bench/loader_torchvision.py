#!/usr/bin/env python3
"""The peer of bench_loader: torchvision decoding + the same augmentation (random_resized_crop 224,
horizontal flip, normalize) through torch's DataLoader at 1 and 2 worker processes, batch 32, 40
batches after a warm-up pass, over the JPEGs bench_loader wrote.

usage: bench/loader_torchvision.py [/tmp/loom-bench-loader]
"""
import pathlib
import sys
import time

import torch
from PIL import Image
from torchvision import transforms


class Files(torch.utils.data.Dataset):
    def __init__(self, folder):
        self.files = sorted(pathlib.Path(folder).glob("*.jpg"))
        self.transform = transforms.Compose([
            transforms.RandomResizedCrop(224), transforms.RandomHorizontalFlip(), transforms.ToTensor(),
            transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        return self.transform(Image.open(self.files[i]).convert("RGB"))


def main(folder):
    torch.set_num_threads(1)
    data = Files(folder)
    if not len(data):
        sys.exit(f"no JPEGs in {folder}: run build/bin/bench_loader first")
    for workers in (1, 2):
        loader = torch.utils.data.DataLoader(data, batch_size=32, shuffle=True, num_workers=workers, drop_last=True,
                                             persistent_workers=True)
        for _ in loader:  # warm-up pass: workers started, files in the page cache
            pass
        batches, start = 0, time.perf_counter()
        while batches < 40:
            for _ in loader:
                batches += 1
                if batches == 40:
                    break
        elapsed = time.perf_counter() - start
        print(f"  torchvision workers={workers}: {40 * 32 / elapsed:.1f} images/s")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/loom-bench-loader")

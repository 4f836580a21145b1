"""Prints np.random.RandomState(seed).randn(count) for the seeds given, one line per seed."""
import sys

import numpy as np

count = int(sys.argv[1])
for seed in sys.argv[2:]:
    print(" ".join(repr(float(v)) for v in np.random.RandomState(int(seed)).randn(count)))

#!/usr/bin/env python3
"""Reads a Loom run's TensorBoard folder with tensorboard's own loader and checks that every tag given
is present with at least one value.

usage: check_run_events.py <tensorboard_dir> <tag> [<tag> ...]
"""
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


def main(directory, tags):
    events = EventAccumulator(directory, size_guidance={"scalars": 0})
    events.Reload()
    have = events.Tags()["scalars"]
    missing = [t for t in tags if t not in have or not events.Scalars(t)]
    if missing:
        print(f"check_run_events: missing scalar tags {missing}; present: {sorted(have)}", file=sys.stderr)
        sys.exit(1)
    for t in tags:
        last = events.Scalars(t)[-1]
        print(f"{t}: step {last.step} value {last.value:.4g}")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2:])

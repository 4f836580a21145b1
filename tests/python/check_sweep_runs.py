#!/usr/bin/env python3
"""Opens a sweep folder as one TensorBoard logdir with tensorboard's own multiplexer and checks that
every job is a run named by its overrides, with values of the given scalar tag.

usage: check_sweep_runs.py <sweep_dir> <tag> <job_id> [<job_id> ...]
"""
import sys

from tensorboard.backend.event_processing.event_multiplexer import EventMultiplexer


def main(directory, tag, ids):
    runs = EventMultiplexer(size_guidance={"scalars": 0}).AddRunsFromDirectory(directory)
    runs.Reload()
    names = sorted(runs.Runs())
    missing = []
    for job in ids:
        named = [n for n in names if n.split("/")[:2] == ["jobs", job]]
        if len(named) != 1 or tag not in runs.GetAccumulator(named[0]).Tags()["scalars"]:
            missing.append(job)
    if missing:
        print(f"check_sweep_runs: no run with {tag} for {missing}; runs: {names}", file=sys.stderr)
        sys.exit(1)
    for n in names:
        print(n)


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], sys.argv[3:])

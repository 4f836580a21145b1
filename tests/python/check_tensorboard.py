#!/usr/bin/env python3
"""Checks a Loom TensorBoard event folder with tensorboard's own reader.

usage: check_tensorboard.py <event_dir> <expected.json>

expected.json (written by tests/core/metrics/test_tensorboard.cpp):
  scalars: [{tag, step, value}] (value already rounded to float32), images: [{tag, step, height, width,
  colorspace, pixels [H][W][C]}], histograms: [{tag, step, bins, values, counts?}], events: the number
  of summary events. Every check failing prints what differs and exits 1.
"""
import io
import json
import math
import pathlib
import struct
import sys

import numpy as np
from PIL import Image
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader, LegacyEventFileLoader
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c
from tensorboard.util import tensor_util


def fail(message):
    print(f"check_tensorboard: {message}", file=sys.stderr)
    sys.exit(1)


def expect(condition, message):
    if not condition:
        fail(message)


def check_framing(path):
    """Walks the TFRecord framing with tensorboard's CRC32C; the reader itself stops silently at a bad
    record, so this makes corruption an error and returns the record count."""
    data = path.read_bytes()
    pos = count = 0
    while pos < len(data):
        expect(pos + 12 <= len(data), f"truncated record header at byte {pos}")
        (size,) = struct.unpack_from("<Q", data, pos)
        (header_crc,) = struct.unpack_from("<I", data, pos + 8)
        expect(header_crc == masked_crc32c(data[pos : pos + 8]), f"bad length CRC at byte {pos}")
        end = pos + 12 + size
        expect(end + 4 <= len(data), f"truncated record at byte {pos}")
        (data_crc,) = struct.unpack_from("<I", data, end)
        expect(data_crc == masked_crc32c(data[pos + 12 : end]), f"bad data CRC at byte {pos}")
        pos, count = end + 4, count + 1
    return count


def collect(events):
    """{(tag, step): Summary.Value}, failing on duplicates."""
    values = {}
    for event in events:
        if not event.HasField("summary"):
            continue
        for value in event.summary.value:
            key = (value.tag, event.step)
            expect(key not in values, f"duplicate value {key}")
            values[key] = value
    return values


def expected_histogram(values, bins):
    """TensorBoard's own bucketing (plugins/histogram/summary.py): equal widths, last limit = max."""
    x = np.asarray(values, dtype=np.float64)
    lo, hi = float(x.min()), float(x.max())
    if lo == hi:
        return lo, hi, [hi], [float(len(x))]
    width = (hi - lo) / bins
    limits = lo + (np.arange(bins) + 1) * width
    limits[-1] = hi
    counts = np.bincount(np.minimum(np.floor((x - lo) / width).astype(int), bins - 1), minlength=bins)
    return lo, hi, limits.tolist(), counts.astype(float).tolist()


def check_scalar(raw, migrated, want, key):
    expect(raw.WhichOneof("value") == "simple_value", f"{key}: not a simple_value")
    expect(raw.simple_value == want["value"], f"{key}: value {raw.simple_value!r} != {want['value']!r}")
    expect(migrated.metadata.plugin_data.plugin_name == "scalars", f"{key}: not migrated to scalars")
    got = tensor_util.make_ndarray(migrated.tensor).item()
    expect(got == want["value"], f"{key}: migrated value {got!r} != {want['value']!r}")


def check_image(raw, migrated, want, key):
    image = raw.image
    for field in ("height", "width", "colorspace"):
        expect(getattr(image, field) == want[field], f"{key}: {field} {getattr(image, field)} != {want[field]}")
    decoded = Image.open(io.BytesIO(image.encoded_image_string))
    expect(decoded.format == "PNG", f"{key}: not a PNG ({decoded.format})")
    mode = {1: "L", 3: "RGB", 4: "RGBA"}[want["colorspace"]]
    expect(decoded.mode == mode, f"{key}: PNG mode {decoded.mode} != {mode}")
    pixels = np.asarray(decoded).reshape(want["height"], want["width"], want["colorspace"])
    wanted = np.asarray(want["pixels"], dtype=np.uint8)
    if not np.array_equal(pixels, wanted):
        y, x = np.argwhere((pixels != wanted).any(axis=-1))[0]
        fail(f"{key}: pixel (y={y}, x={x}) is {pixels[y, x].tolist()}, expected {wanted[y, x].tolist()}")
    blobs = tensor_util.make_ndarray(migrated.tensor).tolist()
    expect(blobs[:2] == [str(want["width"]).encode(), str(want["height"]).encode()], f"{key}: migrated size {blobs[:2]}")
    expect(blobs[2] == image.encoded_image_string, f"{key}: migrated PNG differs")


def check_histogram(raw, migrated, want, key):
    expect(raw.WhichOneof("value") == "histo", f"{key}: not a histo")
    h = raw.histo
    lo, hi, limits, counts = expected_histogram(want["values"], want["bins"])
    x = np.asarray(want["values"], dtype=np.float64)
    expect(h.min == lo and h.max == hi, f"{key}: min/max {h.min}, {h.max} != {lo}, {hi}")
    expect(h.num == len(x), f"{key}: num {h.num} != {len(x)}")
    expect(math.isclose(h.sum, math.fsum(x), rel_tol=1e-9, abs_tol=1e-12), f"{key}: sum {h.sum} != {math.fsum(x)}")
    sum_squares = math.fsum(x * x)
    expect(math.isclose(h.sum_squares, sum_squares, rel_tol=1e-9), f"{key}: sum_squares {h.sum_squares} != {sum_squares}")
    expect(list(h.bucket_limit) == limits, f"{key}: bucket_limit {list(h.bucket_limit)} != {limits}")
    expect(list(h.bucket) == counts, f"{key}: bucket {list(h.bucket)} != {counts}")
    if "counts" in want:
        expect(list(h.bucket) == want["counts"], f"{key}: bucket {list(h.bucket)} != {want['counts']}")
    # TensorBoard's view: [left, right, count] rows, empty buckets at both ends dropped.
    expect(migrated.metadata.plugin_data.plugin_name == "histograms", f"{key}: not migrated to histograms")
    rows = tensor_util.make_ndarray(migrated.tensor)
    nonzero = [i for i, c in enumerate(counts) if c > 0]
    first, last = nonzero[0], nonzero[-1]
    lefts = [lo] + limits[first:last]
    rights = limits[first:last] + [hi]
    wanted = np.array([lefts, rights, counts[first : last + 1]], dtype=np.float32).T  # as data_compat stores
    expect(rows.shape == wanted.shape and np.array_equal(rows, wanted), f"{key}: migrated rows\n{rows}\n!=\n{wanted}")


def main(event_dir, expected_path):
    files = sorted(pathlib.Path(event_dir).glob("*tfevents*"))
    expect(len(files) == 1, f"expected one event file in {event_dir}, found {[f.name for f in files]}")
    path = files[0]
    expected = json.loads(pathlib.Path(expected_path).read_text())

    records = check_framing(path)
    raw_events = list(LegacyEventFileLoader(str(path)).Load())
    expect(len(raw_events) == records, f"reader returned {len(raw_events)} of {records} records")
    expect(raw_events[0].file_version == "brain.Event:2", f"first event is not the file version: {raw_events[0]}")
    summaries = [e for e in raw_events if e.HasField("summary")]
    expect(len(summaries) == expected["events"], f"{len(summaries)} summary events, expected {expected['events']}")
    expect(all(e.wall_time > 1.5e9 for e in raw_events), "implausible wall_time")

    raw = collect(raw_events)
    migrated = collect(EventFileLoader(str(path)).Load())  # through data_compat, as TensorBoard reads it
    wanted = {}
    for kind, check in (("scalars", check_scalar), ("images", check_image), ("histograms", check_histogram)):
        for want in expected[kind]:
            key = (want["tag"], want["step"])
            expect(key in raw, f"missing {kind[:-1]} {key}; found {sorted(raw)}")
            wanted[key] = want
            check(raw[key], migrated[key], want, key)
    extra = set(raw) - set(wanted)
    expect(not extra, f"unexpected values {sorted(extra)}")
    print(f"check_tensorboard: {len(wanted)} values in {len(summaries)} events match ({path.name})")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        fail("usage: check_tensorboard.py <event_dir> <expected.json>")
    main(sys.argv[1], sys.argv[2])

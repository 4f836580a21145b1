#!/usr/bin/env python3
"""onnxruntime CPU latency of an ONNX file, for bench_export_stylizer.

usage: onnx_latency.py FILE.onnx THREADS BATCH ITERATIONS

Random inputs of the graph's input shapes (a symbolic batch set to BATCH; float inputs uniform in
[0, 1)), intra-op threads THREADS, inter-op 1, sequential execution, all graph optimisations; one
warm-up run, then the median of ITERATIONS timed runs. Prints one line: "<ms per image> <ms per run>".
"""
import statistics
import sys
import time

import numpy as np
import onnxruntime as ort


def main():
    path, threads, batch, iterations = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    feeds = {}
    for i in session.get_inputs():
        shape = [batch if not isinstance(d, int) else d for d in i.shape]
        feeds[i.name] = rng.random(shape, dtype=np.float32)
    session.run(None, feeds)
    times = []
    for _ in range(iterations):
        start = time.perf_counter()
        session.run(None, feeds)
        times.append(time.perf_counter() - start)
    run_ms = statistics.median(times) * 1000
    print(f"{run_ms / batch:.3f} {run_ms:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

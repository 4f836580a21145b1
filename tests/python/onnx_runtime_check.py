#!/usr/bin/env python3
"""Checks Loom's ONNX files with PyPI onnx's checker and runs them in onnxruntime (CPU).

usage: onnx_runtime_check.py FOLDER

For every FOLDER/<name>.onnx: onnx.checker.check_model(full_check=True) (shape inference included;
external data is read from beside the file), then FOLDER/<name>.meta.json gets the model's ir_version,
opset, producer, metadata_props and the inputs' and outputs' shapes (dim_value or dim_param), and for
every FOLDER/<name>.in<k>.safetensors (tensors named as the graph's inputs) onnxruntime's outputs go to
FOLDER/<name>.out<k>.safetensors under the graph's output names. The C++ test compares them with
Loom's forward. Exits 1, saying why, on the first failure.
"""
import json
import pathlib
import sys

import onnx
import onnxruntime as ort
from safetensors.numpy import load_file, save_file


def shape_of(value_info):
    dims = value_info.type.tensor_type.shape.dim
    return [d.dim_param if d.HasField("dim_param") else d.dim_value for d in dims]


def check(path):
    onnx.checker.check_model(str(path), full_check=True)
    model = onnx.load(str(path), load_external_data=False)
    meta = {
        "ir_version": model.ir_version,
        "opset": [{"domain": o.domain, "version": o.version} for o in model.opset_import],
        "producer": model.producer_name,
        "metadata": {p.key: p.value for p in model.metadata_props},
        "inputs": {i.name: shape_of(i) for i in model.graph.input},
        "outputs": {o.name: shape_of(o) for o in model.graph.output},
        "ops": sorted({n.op_type for n in model.graph.node}),
    }
    path.with_suffix(".meta.json").write_text(json.dumps(meta, indent=1))
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    runs = sorted(path.parent.glob(path.stem + ".in*.safetensors"))
    for run in runs:
        feeds = load_file(str(run))
        outputs = session.run(names, feeds)
        out = path.parent / f"{path.stem}.out{run.name[len(path.stem) + 3:]}"  # <name>.in<k>... -> .out<k>...
        save_file({n: v for n, v in zip(names, outputs)}, str(out))
    print(f"onnx_runtime_check: {path.name}: checker passed, {len(runs)} run(s), ops {', '.join(meta['ops'])}")


def main():
    folder = pathlib.Path(sys.argv[1])
    models = sorted(folder.glob("*.onnx"))
    if not models:
        print(f"onnx_runtime_check: no .onnx file in {folder}", file=sys.stderr)
        return 1
    for path in models:
        try:
            check(path)
        except Exception as error:  # the checker's and onnxruntime's errors alike
            print(f"onnx_runtime_check: {path.name}: {type(error).__name__}: {error}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

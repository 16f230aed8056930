"""onnxruntime and the onnx checker as references for onnxify's exported models.

  run MODEL CSV [--target NAME]   check MODEL with onnx.checker (full_check) and run the CSV's
                                  feature columns (as the model's input type, float32 or
                                  float64) through onnxruntime; print the labels,
                                  probabilities, graph signature and metadata as JSON
  batch LIST                      the same for each {"model", "csv"} in the JSON file LIST,
                                  where every CSV column is a feature; print a JSON list
"""

import argparse
import json
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd


def run(model_path, frame):
    model = onnx.load(model_path)
    onnx.checker.check_model(model, full_check=True)
    session = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    dtype = np.float64 if session.get_inputs()[0].type == "tensor(double)" else np.float32
    labels, proba = session.run(["label", "probabilities"], {"input": frame.to_numpy(dtype=dtype)})
    return {
        "labels": [v.item() if hasattr(v, "item") else str(v) for v in labels],
        "proba": proba.astype(np.float64).tolist(),
        "inputs": [[i.name, i.type, i.shape] for i in session.get_inputs()],
        "outputs": [[o.name, o.type, o.shape] for o in session.get_outputs()],
        "ir_version": model.ir_version,
        "opset_import": {o.domain: o.version for o in model.opset_import},
        "nodes": [[n.op_type, n.domain, n.name] for n in model.graph.node],
        "metadata": session.get_modelmeta().custom_metadata_map,
    }


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run")
    p.add_argument("model")
    p.add_argument("csv")
    p.add_argument("--target")
    b = sub.add_parser("batch")
    b.add_argument("list")
    args = parser.parse_args()

    if args.command == "run":
        frame = pd.read_csv(args.csv)
        target = args.target or frame.columns[-1]
        json.dump(run(args.model, frame.drop(columns=[target])), sys.stdout)
    else:
        with open(args.list) as f:
            jobs = json.load(f)
        json.dump([run(job["model"], pd.read_csv(job["csv"])) for job in jobs], sys.stdout)


if __name__ == "__main__":
    main()

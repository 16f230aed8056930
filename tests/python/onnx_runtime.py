"""onnxruntime and the onnx checker as references for onnxify's exported models.

  run MODEL CSV [--target NAME]   check MODEL with onnx.checker (full_check) and run the CSV's
                                  feature columns (as the model's input type, float32 or
                                  float64) through onnxruntime; print the labels,
                                  probabilities, graph signature and metadata as JSON
  batch LIST                      the same for each {"model", "csv"} in the JSON file LIST,
                                  where every CSV column is a feature; print a JSON list

A model with a single numeric input no column is named after ("input", or a Spark model's vector
column) is fed the feature columns as one matrix. A table's model
(one input per column) is fed each input from the CSV column of its name: text verbatim, read
with dtype=str, "" for a missing cell; numbers as the input's type, NaN for a missing cell.
"""

import argparse
import json
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd


def read(csv, target=None):
    """The CSV's feature frame as read_csv reads it, and the same columns as text (dtype=str)."""
    frame, texts = pd.read_csv(csv), pd.read_csv(csv, dtype=str)
    if target is not None:
        frame, texts = frame.drop(columns=[target]), texts.drop(columns=[target])
    return frame, texts


def run(model_path, frame, texts=None):
    model = onnx.load(model_path)
    onnx.checker.check_model(model, full_check=True)
    session = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    inputs = session.get_inputs()
    # One numeric input no column is named after: the feature columns as one matrix ("input",
    # or the vector column a Spark model reads).
    if len(inputs) == 1 and inputs[0].name not in frame.columns and inputs[0].type != "tensor(string)":
        dtype = np.float64 if inputs[0].type == "tensor(double)" else np.float32
        feed = {inputs[0].name: frame.to_numpy(dtype=dtype)}
    else:
        # Grouped inputs take the columns the `columns` metadata entry lists, in its order.
        names = json.loads(session.get_modelmeta().custom_metadata_map.get("columns", "{}"))
        groups = {"numeric": names.get("numeric"), "categorical": names.get("categorical")}
        feed = {}
        for i in inputs:
            columns = groups.get(i.name) if i.name not in frame.columns else None
            columns = columns if columns is not None else [i.name]
            if i.type == "tensor(string)":
                feed[i.name] = texts[columns].fillna("").to_numpy(dtype=object)
            elif i.type == "tensor(int64)":
                feed[i.name] = frame[columns].to_numpy(dtype=np.int64)
            else:
                dtype = np.float64 if i.type == "tensor(double)" else np.float32
                feed[i.name] = frame[columns].to_numpy(dtype=dtype)
    labels, proba = session.run(["label", "probabilities"], feed)
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
        target = args.target or pd.read_csv(args.csv, nrows=0).columns[-1]
        json.dump(run(args.model, *read(args.csv, target)), sys.stdout)
    else:
        with open(args.list) as f:
            jobs = json.load(f)
        json.dump([run(job["model"], *read(job["csv"])) for job in jobs], sys.stdout)


if __name__ == "__main__":
    main()

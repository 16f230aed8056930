"""A valid model whose integer class labels are not in ascending order, for `predict`.

  unsorted_labels.py DIR   writes DIR/unsorted_labels.onnx (Scaler -> LinearClassifier with
                           classlabels_ints [2, 1, 0], the shape scikit-learn's converter writes)
                           and DIR/unsorted_labels.csv, runs the model in onnxruntime and prints
                           a JSON manifest with its labels and probabilities
"""

import json
import os
import sys

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, checker, helper

CLASSES = [2, 1, 0]


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    scaler = helper.make_node(
        "Scaler", ["input"], ["scaled"], name="scaler", domain="ai.onnx.ml",
        offset=[0.5, -1.0], scale=[2.0, 0.5],
    )
    classifier = helper.make_node(
        "LinearClassifier", ["scaled"], ["label", "probabilities"], name="linear_classifier",
        domain="ai.onnx.ml", classlabels_ints=CLASSES,
        coefficients=[1.0, -0.5, -0.25, 0.75, -1.5, 0.25], intercepts=[0.1, -0.2, 0.3],
        multi_class=1, post_transform="SOFTMAX",
    )
    graph = helper.make_graph(
        [scaler, classifier], "unsorted_labels",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 2])],
        [
            helper.make_tensor_value_info("label", TensorProto.INT64, ["N"]),
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", len(CLASSES)]),
        ],
    )
    model = helper.make_model(
        graph, ir_version=8,
        opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", 1)],
    )
    checker.check_model(model)
    path = os.path.join(out, "unsorted_labels.onnx")
    with open(path, "wb") as f:
        f.write(model.SerializeToString())

    # Rows spread over the three classes' regions.
    x = np.random.default_rng(7).uniform(-3.0, 3.0, size=(60, 2)).astype(np.float32)
    csv = os.path.join(out, "unsorted_labels.csv")
    with open(csv, "w") as f:
        f.write("a,b\n")
        for row in x:
            f.write(f"{float(row[0])!r},{float(row[1])!r}\n")
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    labels, proba = session.run(None, {"input": x})
    json.dump({
        "model": path,
        "csv": csv,
        "classes": [str(c) for c in CLASSES],
        "labels": [str(v) for v in labels],
        "proba": proba.astype(np.float64).tolist(),
    }, sys.stdout)


if __name__ == "__main__":
    main()

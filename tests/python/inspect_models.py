"""Valid models for the `inspect` tests, each with one property the report must state right.

  inspect_models.py DIR   writes the models under DIR and prints a JSON object
                          {case: path, ...}

All pass the allow-list check; they differ in what inspect must say about them: a scaler or
none, a Normalizer, string or one-row binary classes, a coefficient vector large enough to
look like data, and text or undeclared fields beyond what onnxify vouches for.
"""

import json
import os
import sys

import onnx
from onnx import TensorProto, helper

from hostile_onnx import varint

F, K = 4, 3


def model(n_features=F, classes=(0, 1, 2), scaler=True, normalizer=None, rows=None, post_transform="SOFTMAX"):
    strings = isinstance(classes[0], str)
    rows = rows or len(classes)
    nodes = []
    x = "input"
    if scaler:
        nodes.append(helper.make_node("Scaler", [x], ["scaled"], name="scaler", domain="ai.onnx.ml",
                                      offset=[0.5] * n_features, scale=[2.0] * n_features))
        x = "scaled"
    labels = {"classlabels_strings": list(classes)} if strings else {"classlabels_ints": list(classes)}
    proba = "scores" if normalizer else "probabilities"
    nodes.append(helper.make_node(
        "LinearClassifier", [x], ["label", proba], name="linear_classifier", domain="ai.onnx.ml",
        coefficients=[0.001 * (i % 7) for i in range(rows * n_features)],
        intercepts=[0.1 * r for r in range(rows)], multi_class=int(rows > 1 and len(classes) > 2),
        post_transform=post_transform, **labels))
    if normalizer:
        nodes.append(helper.make_node("Normalizer", [proba], ["probabilities"], name="normalizer",
                                      domain="ai.onnx.ml", norm=normalizer))
    graph = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", n_features])],
        [helper.make_tensor_value_info("label", TensorProto.STRING if strings else TensorProto.INT64, ["N"]),
         helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", len(classes)])])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", 1)])
    m.ir_version = 8
    onnx.checker.check_model(m, full_check=True)
    return m


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    written = {}

    def write(name, content):
        path = os.path.join(out, name + ".onnx")
        with open(path, "wb") as f:
            f.write(content if isinstance(content, bytes) else content.SerializeToString())
        written[name] = path

    write("scaler", model())
    write("no_scaler", model(scaler=False))
    write("normalizer", model(classes=("setosa", "versicolor", "virginica"), normalizer="L1", post_transform="LOGISTIC"))
    write("binary_one_row", model(classes=("no", "yes"), rows=1, post_transform="LOGISTIC"))
    # 40,000 features x 3 classes: a coefficient attribute of 120,000 values.
    write("wide", model(n_features=40_000))

    rows = "5.1,3.5,1.4,0.2,setosa\n"
    m = model()
    m.graph.doc_string = rows * ((100 << 10) // len(rows))
    write("text_in_graph_doc_string", m)
    m = model()
    for i in range(500):
        m.metadata_props.add(key=f"part{i}", value=rows * (1000 // len(rows)))
    write("text_in_500_metadata_entries", m)
    tail = rows.encode()[:10]
    write("undeclared_field", model().SerializeToString() + varint(100 << 3 | 2) + varint(len(tail)) + tail)

    json.dump(written, sys.stdout)


if __name__ == "__main__":
    main()

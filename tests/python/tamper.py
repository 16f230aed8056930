"""Changes an ONNX model the way an attacker or an accident would, for the verify tests.

  tamper.py coefficient MODEL OUT   add 0.5 to the LinearClassifier's first coefficient
  tamper.py metadata MODEL OUT      change the recorded dataset SHA-256
"""

import sys

import onnx

kind, source, target = sys.argv[1:4]
model = onnx.load(source)
if kind == "coefficient":
    node = next(n for n in model.graph.node if n.op_type == "LinearClassifier")
    attribute = next(a for a in node.attribute if a.name == "coefficients")
    attribute.floats[0] += 0.5
else:
    entry = next(e for e in model.metadata_props if e.key == "dataset_sha256")
    entry.value = "0" * 64
onnx.save(model, target)
print("{}")

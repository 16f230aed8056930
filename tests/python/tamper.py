"""Changes an ONNX model the way an attacker or an accident would, for the verify tests.

  tamper.py coefficient MODEL OUT   add 0.5 to the LinearClassifier's first coefficient
  tamper.py metadata MODEL OUT      change the recorded dataset SHA-256
  tamper.py opset MODEL OUT         import ai.onnx.ml version 3 (allow-listed; onnxify writes 1)
  tamper.py no_default MODEL OUT    drop the CategoryMapper's default_string (ONNX's default
                                    then applies)
  tamper.py fill_value MODEL OUT    record another fill value for a table's first numeric
                                    column in the metadata's columns record than the graph has
  tamper.py integer_columns MODEL OUT  record no integer category column in the metadata's
                                    columns record, where the graph has INT64 inputs
  tamper.py best_index MODEL OUT    record another candidate than the first of rank 1 as the
                                    grid search's best (the next one)
  tamper.py smuggle MODEL OUT       add 300 metadata entries of 1 KiB each: rows of a CSV hidden
                                    in small pieces
"""

import json
import sys

import onnx

kind, source, target = sys.argv[1:4]
model = onnx.load(source)
if kind == "coefficient":
    node = next(n for n in model.graph.node if n.op_type == "LinearClassifier")
    attribute = next(a for a in node.attribute if a.name == "coefficients")
    attribute.floats[0] += 0.5
elif kind == "no_default":
    node = next(n for n in model.graph.node if n.op_type == "CategoryMapper")
    kept = [a for a in node.attribute if a.name != "default_string"]
    del node.attribute[:]
    node.attribute.extend(kept)
elif kind == "smuggle":
    for i in range(300):
        row = ",".join(f"{(i * 7 + j) % 97}.{j}" for j in range(200))
        model.metadata_props.add(key=f"note_{i}", value=row[:1024])
elif kind == "fill_value":
    entry = next(e for e in model.metadata_props if e.key == "columns")
    record = json.loads(entry.value)
    record["statistics"][0] += 1.0
    entry.value = json.dumps(record, separators=(",", ":"))
elif kind == "integer_columns":
    entry = next(e for e in model.metadata_props if e.key == "columns")
    record = json.loads(entry.value)
    del record["integer_columns"]
    entry.value = json.dumps(record, separators=(",", ":"))
elif kind == "best_index":
    entry = next(e for e in model.metadata_props if e.key == "model_selection")
    record = json.loads(entry.value)
    record["best_index"] = (record["best_index"] + 1) % len(record["candidates"])
    entry.value = json.dumps(record, separators=(",", ":"))
elif kind == "opset":
    imported = next(o for o in model.opset_import if o.domain == "ai.onnx.ml")
    imported.version = 3
else:
    entry = next(e for e in model.metadata_props if e.key == "dataset_sha256")
    entry.value = "0" * 64
onnx.save(model, target)
print("{}")

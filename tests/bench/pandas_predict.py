"""The Python side of the predict benchmark: pandas.read_csv, onnxruntime, DataFrame.to_csv,
writing what `onnxify predict` writes (the label and one probability column per class).

Usage: pandas_predict.py MODEL CSV OUT
"""

import json
import sys

import numpy as np
import onnxruntime as ort
import pandas as pd

model, csv, out = sys.argv[1:4]
session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
metadata = session.get_modelmeta().custom_metadata_map
features = json.loads(metadata["feature_names"])
classes = json.loads(metadata["class_labels"])
dtype = np.float64 if session.get_inputs()[0].type == "tensor(double)" else np.float32
frame = pd.read_csv(csv)
labels, proba = session.run(["label", "probabilities"], {"input": frame[features].to_numpy(dtype)})
result = pd.DataFrame(proba, columns=[f"p_{c}" for c in classes])
result.insert(0, "label", labels)
result.to_csv(out, index=False)

"""Models written by scikit-learn's own converter (skl2onnx, zipmap off), for `predict`.

  foreign_models.py DIR   fits Pipeline([StandardScaler(), LogisticRegression()]) on
                          breast_cancer (integer labels) and iris (string labels), converts
                          each with skl2onnx at opset 17 and at skl2onnx's default opset, and
                          writes the models, the feature CSVs and onnxruntime's predictions;
                          prints a JSON manifest
"""

import json
import os
import sys

import numpy as np
import onnxruntime as ort
import pandas as pd
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn import datasets
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    manifest = []
    for name, loader, strings in [("breast_cancer", datasets.load_breast_cancer, False), ("iris", datasets.load_iris, True)]:
        d = loader()
        y = d.target_names[d.target] if strings else d.target
        pipe = Pipeline([("scaler", StandardScaler()), ("clf", LogisticRegression(max_iter=1000))]).fit(d.data, y)
        csv = os.path.join(out, f"{name}.csv")
        pd.DataFrame(d.data, columns=[f"c{i}" for i in range(d.data.shape[1])]).to_csv(csv, index=False)
        for opset in [17, None]:
            model = convert_sklearn(
                pipe,
                initial_types=[("input", FloatTensorType([None, d.data.shape[1]]))],
                options={id(pipe.named_steps["clf"]): {"zipmap": False}},
                target_opset=opset,
            )
            path = os.path.join(out, f"{name}_opset{opset or 'default'}.onnx")
            with open(path, "wb") as f:
                f.write(model.SerializeToString())
            session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
            labels, proba = session.run(None, {"input": d.data.astype(np.float32)})
            manifest.append({
                "model": path,
                "csv": csv,
                "labels": [str(v) for v in labels],
                "proba": proba.astype(np.float64).tolist(),
                "classes": [str(c) for c in pipe.classes_],
            })
    json.dump(manifest, sys.stdout)


if __name__ == "__main__":
    main()

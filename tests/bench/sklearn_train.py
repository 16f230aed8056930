"""The scikit-learn side of the training benchmark.

  sklearn_train.py CSV TOL MAX_ITER            read the CSV with pandas and fit
                                               StandardScaler -> LogisticRegression (lbfgs)
                                               on every row
  sklearn_train.py CSV TOL MAX_ITER OUT.onnx   the same, then the handoff onnxify does: convert
                                               with skl2onnx (zipmap off), save, load the file
                                               in onnxruntime and compare its predictions on
                                               every row with predict_proba
"""

import sys

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

path, tol, max_iter = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
frame = pd.read_csv(path)
y = frame.pop(frame.columns[-1])
pipe = Pipeline([("scaler", StandardScaler()), ("clf", LogisticRegression(tol=tol, max_iter=max_iter))])
pipe.fit(frame, y)

if len(sys.argv) > 4:
    import onnxruntime as ort
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    model = convert_sklearn(
        pipe,
        initial_types=[("input", FloatTensorType([None, frame.shape[1]]))],
        options={id(pipe.named_steps["clf"]): {"zipmap": False}},
        target_opset=17,
    )
    with open(sys.argv[4], "wb") as f:
        f.write(model.SerializeToString())
    session = ort.InferenceSession(sys.argv[4], providers=["CPUExecutionProvider"])
    labels, proba = session.run(None, {"input": frame.to_numpy(np.float32)})
    difference = np.abs(proba - pipe.predict_proba(frame)).max()
    agree = (labels == pipe.predict(frame)).mean()
    if difference > 1e-5 or agree < 1:
        sys.exit(f"the ONNX model disagrees: max difference {difference}, label agreement {agree}")

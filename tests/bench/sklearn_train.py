"""The scikit-learn side of the training benchmark.

  sklearn_train.py CSV TOL MAX_ITER TEST_SIZE [OUT.onnx]

Reads the CSV with pandas, holds out TEST_SIZE of the rows (stratified, as onnxify does; none
with 0), fits StandardScaler -> LogisticRegression (lbfgs) on the rest and, with OUT.onnx, does
the handoff onnxify does: converts with skl2onnx (zipmap off), saves, loads the file in
onnxruntime and compares its predictions with predict_proba on the held-out rows (every row
with a test size of 0). Like onnxify, it takes float input first and converts again with
double input if float input changes a label or moves a probability by more than 1e-5.
"""

import sys

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

path, tol, max_iter, test_size = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
frame = pd.read_csv(path)
y = frame.pop(frame.columns[-1])
if test_size > 0:
    train_x, test_x, train_y, _ = train_test_split(frame, y, test_size=test_size, stratify=y, random_state=0)
else:
    train_x, test_x, train_y = frame, frame, y
pipe = Pipeline([("scaler", StandardScaler()), ("clf", LogisticRegression(tol=tol, max_iter=max_iter))])
pipe.fit(train_x, train_y)

if len(sys.argv) > 5:
    import onnxruntime as ort
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    expected_labels, expected_proba = pipe.predict(test_x), pipe.predict_proba(test_x)
    for tensor_type, dtype in [(FloatTensorType, np.float32), (DoubleTensorType, np.float64)]:
        model = convert_sklearn(
            pipe,
            initial_types=[("input", tensor_type([None, frame.shape[1]]))],
            options={id(pipe.named_steps["clf"]): {"zipmap": False}},
            target_opset=17,
        )
        with open(sys.argv[5], "wb") as f:
            f.write(model.SerializeToString())
        session = ort.InferenceSession(sys.argv[5], providers=["CPUExecutionProvider"])
        labels, proba = session.run(None, {"input": test_x.to_numpy(dtype)})
        difference = np.abs(proba - expected_proba).max()
        agree = (labels == expected_labels).mean()
        if difference <= 1e-5 and agree == 1:
            break
    else:
        sys.exit(f"the ONNX model disagrees: max difference {difference}, label agreement {agree}")

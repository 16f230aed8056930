"""The scikit-learn side of the mixed-table benchmark.

  sklearn_table.py CSV TARGET TOL MAX_ITER OUT.onnx

Reads the CSV with pandas, holds out 25 % of the rows (train_test_split, stratified), fits

  ColumnTransformer([
      ("num", Pipeline([SimpleImputer(), StandardScaler()]), numeric),
      ("cat", OneHotEncoder(handle_unknown="ignore"), text),
  ]) -> LogisticRegression(tol=TOL, max_iter=MAX_ITER)   (lbfgs)

on the training rows, scores the held-out rows, converts the fitted pipeline with skl2onnx
(zipmap off; numeric inputs float32, since onnxruntime has no Imputer kernel for double) and
writes the file.
Prints the held-out accuracy on stdout and the wall time of each step on stderr.
"""

import sys
import time

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

path, target, tol, max_iter, out = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
steps = []
clock = time.perf_counter()


def step(name):
    global clock
    now = time.perf_counter()
    steps.append(f"{name} {now - clock:.2f} s")
    clock = now


frame = pd.read_csv(path)
y = frame.pop(target)
numeric = make_column_selector(dtype_include=np.number)(frame)
text = make_column_selector(dtype_include=object)(frame)
step("read_csv")

x_train, x_test, y_train, y_test = train_test_split(frame, y, test_size=0.25, stratify=y, random_state=0)
step("split")

pipe = Pipeline([
    ("columns", ColumnTransformer([
        ("num", Pipeline([("imputer", SimpleImputer()), ("scaler", StandardScaler())]), numeric),
        ("cat", OneHotEncoder(handle_unknown="ignore"), text),
    ])),
    ("clf", LogisticRegression(tol=tol, max_iter=max_iter)),
])
pipe.fit(x_train, y_train)
step(f"fit ({pipe.named_steps['clf'].n_iter_.max()} iterations)")

accuracy = pipe.score(x_test, y_test)
step("held-out accuracy")

from skl2onnx import to_onnx  # noqa: E402  (imported here so its import time counts as the conversion's)

# skl2onnx types the inputs after the example frame: numbers as float32 (onnxruntime has no
# Imputer kernel for double), text as object (it refuses pandas 3's StringDtype)
sample = x_train[:1].astype({**{name: np.float32 for name in numeric}, **{name: object for name in text}})
model = to_onnx(pipe, sample, options={id(pipe.named_steps["clf"]): {"zipmap": False}})
with open(out, "wb") as f:
    f.write(model.SerializeToString())
step("skl2onnx conversion")

print(f"accuracy {accuracy:.6f}")
print("scikit-learn: " + ", ".join(steps), file=sys.stderr)

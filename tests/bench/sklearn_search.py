"""The scikit-learn side of the model-search benchmark.

  sklearn_search.py CSV TARGET TOL MAX_ITER N_C FOLDS OUT.onnx

Reads the CSV with pandas, holds out 25 % of the rows (train_test_split, stratified), and on
the training rows runs

  GridSearchCV(StandardScaler -> LogisticRegression(tol=TOL, max_iter=MAX_ITER),   (lbfgs)
               {"C": numpy.logspace(-3, 3, N_C)}, cv=StratifiedKFold(FOLDS),
               scoring="accuracy", n_jobs=2)

which scores every C on every fold in two loky worker processes, then refits the best C on
all the training rows. Scores the refitted pipeline on the held-out rows, converts it with
skl2onnx (float32 input [None, n_features], zipmap off) and writes the file.
Prints one line of JSON on stdout: the best C, the mean cross-validated accuracy of each C, the
held-out accuracy, the iterations of the refit and the wall time of each step.
"""

import json
import sys
import time

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

path, target, tol, max_iter = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
n_c, folds, out = int(sys.argv[5]), int(sys.argv[6]), sys.argv[7]
seconds = {}
clock = time.perf_counter()


def step(name):
    global clock
    now = time.perf_counter()
    seconds[name] = round(now - clock, 3)
    clock = now


frame = pd.read_csv(path)
y = frame.pop(target)
step("read_csv")

x_train, x_test, y_train, y_test = train_test_split(frame, y, test_size=0.25, stratify=y, random_state=0)
step("split")

search = GridSearchCV(
    make_pipeline(StandardScaler(), LogisticRegression(tol=tol, max_iter=max_iter)),
    {"logisticregression__C": np.logspace(-3, 3, n_c)},
    cv=StratifiedKFold(folds),
    n_jobs=2,
    scoring="accuracy",
)
search.fit(x_train, y_train)
best = search.best_estimator_
step("grid search and refit")

accuracy = best.score(x_test, y_test)
step("held-out accuracy")

from skl2onnx import convert_sklearn  # noqa: E402  (imported here so its import time counts as the conversion's)
from skl2onnx.common.data_types import FloatTensorType  # noqa: E402

model = convert_sklearn(
    best,
    initial_types=[("input", FloatTensorType([None, x_train.shape[1]]))],
    options={id(best.named_steps["logisticregression"]): {"zipmap": False}},
    target_opset=17,
)
with open(out, "wb") as f:
    f.write(model.SerializeToString())
step("skl2onnx conversion")

print(json.dumps({
    "best_C": float(search.best_params_["logisticregression__C"]),
    "cv_accuracy": float(search.best_score_),
    "cv_accuracy_per_C": {f"{c:g}": float(score) for c, score in zip(
        search.cv_results_["param_logisticregression__C"], search.cv_results_["mean_test_score"])},
    "accuracy": float(accuracy),
    "iterations": int(best.named_steps["logisticregression"].n_iter_.max()),
    "seconds": seconds,
}))

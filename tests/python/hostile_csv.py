"""pandas, scikit-learn and onnxruntime as references for the hostile CSVs onnxify accepts.

  hostile_csv.py JOBS   for each job {"csv", "target", "features", "model", "fit"} in the JSON
                        file JOBS, print one result (a JSON list, in order):
      sha256, rows and columns: the CSV's bytes hashed by hashlib, its shape as pandas reads it
      target, features and classes (when no "features" are given): the target column (the last
          one unless named), the others, and np.unique of the target as text (the order of
          scikit-learn's classes_)
      onnx (when "model" is given): onnxruntime's labels and probabilities for the feature
          columns (`features` when given, else every column but the target)
      sklearn (when "fit" is true): the labels and probabilities on every row of
          StandardScaler -> LogisticRegression fitted on every row, converged

pandas reads with keep_default_na=False: no accepted case has a missing-value marker (onnxify
refuses a missing label, and a table with a missing feature is not exported yet), and with the
utf-8-sig encoding, which drops a byte-order mark instead of making it part of the first column's
name. A job that names its `features` reads only those columns, so an undecodable byte elsewhere
(a Latin-1 label, which predict never reads) is replaced rather than fatal.
"""

import hashlib
import json
import sys

import numpy as np
import pandas as pd


def fitted(x, y):
    # Imported here: scikit-learn and onnxruntime take seconds to import, and a job that only
    # reads a CSV needs neither.
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    # newton-cg at tol 1e-10 reaches the optimum to ~1e-11 and, unlike newton-cholesky, never
    # builds the Hessian (900 x 900 for 300 classes, 100,001 x 100,001 for 100,000 columns).
    clf = LogisticRegression(solver="newton-cg", tol=1e-10, max_iter=10000)
    return Pipeline([("scaler", StandardScaler()), ("clf", clf)]).fit(x, y)


def one(job):
    with open(job["csv"], "rb") as f:
        data = f.read()
    features = job.get("features")
    frame = pd.read_csv(
        job["csv"],
        keep_default_na=False,
        encoding="utf-8-sig",
        encoding_errors="replace" if features else "strict",
        usecols=features,
    )
    result = {
        "sha256": hashlib.sha256(data).hexdigest(),
        "rows": int(frame.shape[0]),
        "columns": int(frame.shape[1]),
    }
    columns = list(frame.columns)
    position = {c: i for i, c in enumerate(columns)}
    # Columns picked from the frame's values, not the frame: pandas takes seconds to select
    # 100,000 columns of a frame.
    values = frame.to_numpy(dtype=object)
    if not features:
        target = job.get("target") or columns[-1]
        features = [c for c in columns if c != target]
        y = frame[target].to_numpy()
        result.update(target=target, features=features, classes=[str(v) for v in np.unique(y)])
    if not (job.get("model") or job.get("fit")):
        return result
    x = values[:, [position[c] for c in features]].astype(np.float64)
    if job.get("model"):
        from onnx_runtime import run as run_onnx

        ran = run_onnx(job["model"], pd.DataFrame(x))
        result["onnx"] = {"labels": [str(v) for v in ran["labels"]], "proba": ran["proba"]}
    if job.get("fit"):
        pipe = fitted(x, y)
        result["sklearn"] = {
            "labels": [str(v) for v in pipe.predict(x)],
            "proba": pipe.predict_proba(x).tolist(),
        }
    return result


def main():
    with open(sys.argv[1]) as f:
        jobs = json.load(f)
    json.dump([one(job) for job in jobs], sys.stdout)


if __name__ == "__main__":
    main()

"""scikit-learn as the reference for onnxify's test suite.

Each subcommand prints one JSON document on stdout. The Rust tests compare onnxify's numbers
with these, computed live by scikit-learn in the same run.

  datasets DIR                 write iris, wine, breast_cancer, digits (integer labels),
                               breast_cancer_strings, iris_strings (their class names) and a
                               synthetic string-label set with features on scales 1e-3..1e6
  fit CSV [--C C ...] [--target NAME] [--predict CSV] [--class-weight none|balanced]
                               fit StandardScaler -> LogisticRegression(newton-cholesky,
                               tol 1e-12) for each C; report the fitted attributes and
                               predictions on the training rows (or on --predict's rows)
  metrics JSON                 scikit-learn's metrics of {"y_true", "y_pred", "proba",
                               "classes"} (class indices and probability rows)
  split JOBS                   for each {"csv", "test_size", "seeds"} in the JSON file JOBS,
                               train_test_split(stratify=y, test_size, random_state=seed) for
                               each seed: the classes (np.unique of the last column, as text)
                               and the rows of each class on each side
"""

import argparse
import csv
import json
import sys

import numpy as np
import pandas as pd
from sklearn import datasets, metrics
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler


def write_csv(path, names, rows, labels):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(names)
        for row, label in zip(rows, labels):
            w.writerow([repr(float(v)) for v in row] + [label])


def synthetic_string_labels(n=600, seed=7):
    """Features on very different scales and offsets; labels from a noisy linear rule."""
    rng = np.random.default_rng(seed)
    scales = np.array([1e-3, 1e-1, 1.0, 1e2, 1e4, 1e6])
    offsets = np.array([0.0, 5.0, -3.0, 1e3, -2e4, 3e6])
    z = rng.standard_normal((n, len(scales)))
    x = z * scales + offsets
    w = rng.standard_normal((4, len(scales)))
    scores = z @ w.T + 0.8 * rng.standard_normal((n, 4))
    names = np.array(["alpha", "Beta", "gamma", "delta"])
    return x, names[scores.argmax(axis=1)]


def cmd_datasets(out_dir):
    written = {}
    for name, loader in [
        ("iris", datasets.load_iris),
        ("wine", datasets.load_wine),
        ("breast_cancer", datasets.load_breast_cancer),
        ("digits", datasets.load_digits),
    ]:
        d = loader()
        names = [f"f{i}" for i in range(d.data.shape[1])] + ["target"]
        path = f"{out_dir}/{name}.csv"
        write_csv(path, names, d.data, [int(t) for t in d.target])
        written[name] = path
    for name, loader in [("breast_cancer_strings", datasets.load_breast_cancer), ("iris_strings", datasets.load_iris)]:
        d = loader()
        names = [f"f{i}" for i in range(d.data.shape[1])] + ["target"]
        path = f"{out_dir}/{name}.csv"
        write_csv(path, names, d.data, [d.target_names[t] for t in d.target])
        written[name] = path
    x, y = synthetic_string_labels()
    path = f"{out_dir}/synthetic_strings.csv"
    write_csv(path, [f"x{i}" for i in range(x.shape[1])] + ["label"], x, y)
    written["synthetic_strings"] = path
    return written


def read(path, target):
    frame = pd.read_csv(path)
    target = target or frame.columns[-1]
    y = frame[target].to_numpy()
    x = frame.drop(columns=[target]).to_numpy(dtype=np.float64)
    return x, y


def reference_pipeline(c, class_weight=None):
    # newton-cholesky at tol 1e-12 reaches the optimum to ~1e-11 (lbfgs stops near 1e-8).
    return Pipeline([
        ("scaler", StandardScaler()),
        ("clf", LogisticRegression(
            C=c, solver="newton-cholesky", tol=1e-12, max_iter=10000, class_weight=class_weight)),
    ])


def class_weight(name):
    return None if name == "none" else name


def cmd_fit(args):
    x, y = read(args.csv, args.target)
    x_pred = read(args.predict, args.target)[0] if args.predict else x
    fits = []
    for c in args.C:
        pipe = reference_pipeline(c, class_weight(args.class_weight)).fit(x, y)
        scaler, clf = pipe.named_steps["scaler"], pipe.named_steps["clf"]
        classes = clf.classes_.tolist()
        predicted = pipe.predict(x_pred)
        fits.append({
            "C": c,
            "classes": [str(v) for v in classes],
            "mean": scaler.mean_.tolist(),
            "scale": scaler.scale_.tolist(),
            "coef": clf.coef_.tolist(),
            "intercept": clf.intercept_.tolist(),
            "proba": pipe.predict_proba(x_pred).tolist(),
            "predicted": [classes.index(v) for v in predicted],
        })
    return fits


def cmd_metrics(path):
    with open(path) as f:
        d = json.load(f)
    y_true, y_pred = np.array(d["y_true"]), np.array(d["y_pred"])
    proba = np.array(d["proba"])
    labels = list(range(proba.shape[1]))
    p, r, f1, support = metrics.precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0)
    out = {
        "accuracy": metrics.accuracy_score(y_true, y_pred),
        "log_loss": metrics.log_loss(y_true, proba, labels=labels),
        "macro_f1": metrics.f1_score(y_true, y_pred, average="macro", labels=labels, zero_division=0),
        "precision": p.tolist(),
        "recall": r.tolist(),
        "f1": f1.tolist(),
        "support": support.tolist(),
        "confusion_matrix": metrics.confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        "roc_auc": metrics.roc_auc_score(y_true, proba[:, 1]) if len(labels) == 2 else None,
    }
    return out


def cmd_split(path):
    with open(path) as f:
        jobs = json.load(f)
    out = []
    for job in jobs:
        _, y = read(job["csv"], None)
        classes = np.unique(y)
        splits = []
        for seed in job["seeds"]:
            y_train, y_test = train_test_split(
                y, stratify=y, test_size=job["test_size"], random_state=seed)
            splits.append({
                "seed": seed,
                "train": [int(np.sum(y_train == c)) for c in classes],
                "test": [int(np.sum(y_test == c)) for c in classes],
            })
        out.append({"classes": [str(c) for c in classes], "splits": splits})
    return out


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("datasets")
    p.add_argument("dir")
    p = sub.add_parser("fit")
    p.add_argument("csv")
    p.add_argument("--C", type=float, action="append", required=True)
    p.add_argument("--class-weight", default="none", choices=["none", "balanced"])
    p.add_argument("--target")
    p.add_argument("--predict")
    p = sub.add_parser("metrics")
    p.add_argument("json")
    p = sub.add_parser("split")
    p.add_argument("jobs")
    args = parser.parse_args()
    if args.command == "datasets":
        result = cmd_datasets(args.dir)
    elif args.command == "fit":
        result = cmd_fit(args)
    elif args.command == "split":
        result = cmd_split(args.jobs)
    else:
        result = cmd_metrics(args.json)
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()

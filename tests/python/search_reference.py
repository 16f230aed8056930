"""scikit-learn's model selection as the reference for onnxify's `--cv`: StratifiedKFold's folds
and GridSearchCV's cross-validation of the pipeline mixed_reference.py builds (for a CSV of
numbers without missing cells that is StandardScaler -> LogisticRegression, the imputer being
a no-op). Each subcommand prints one JSON document on stdout.

  folds CSV --splits K[:SEED],... [--target T]
        for each K (and SEED), the test fold of each row under StratifiedKFold(K,
        shuffle=SEED given, random_state=SEED), the labels being CSV's target column as pandas
        reads it; print {"K[:SEED]": [fold of row 0, ...]}
  search CSV --cv K [--target T] [--categorical a,b] [--drop c,d] [--impute STRATEGY]
         [--missing-indicator] (--C C,C,... | --logspace START STOP NUM)
         [--class-weight none,balanced] [--scoring NAME] [--shuffle SEED]
        GridSearchCV of the pipeline (newton-cholesky, tol 1e-12) over C (a list, or
        numpy.logspace(START, STOP, NUM)) and class_weight, cv=StratifiedKFold(K), scoring
        NAME (scikit-learn's scorer names; default accuracy), error_score=nan, on every row of
        CSV; print {"params", "split_test_scores" (per candidate, per fold), "mean_test_score",
        "std_test_score", "rank_test_score", "best_index", "best_params"}; NaN as null
"""

import argparse
import json
import sys
import warnings

import numpy as np
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from mixed_reference import column_roles, floats, mixed_pipeline, names, read_table


def folds(k, seed):
    return StratifiedKFold(k, shuffle=seed is not None, random_state=seed)


def cmd_folds(args):
    x, y, _ = read_table(args.csv, args.target)
    result = {}
    for spec in args.splits.split(","):
        k, _, seed = spec.partition(":")
        test_fold = np.empty(len(y), dtype=int)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for fold, (_, test) in enumerate(folds(int(k), int(seed) if seed else None).split(x, y)):
                test_fold[test] = fold
        result[spec] = test_fold.tolist()
    return result


def cmd_search(args):
    categorical, drop = names(args.categorical), names(args.drop)
    x, y, _ = read_table(args.csv, args.target, categorical, drop)
    numeric, cats = column_roles(x)
    if args.logspace:
        start, stop, num = args.logspace
        c_values = np.logspace(float(start), float(stop), int(num)).tolist()
    else:
        c_values = [float(c) for c in args.C.split(",")]
    weights = [None if w == "none" else w for w in args.class_weight.split(",")]
    grid = {"clf__C": c_values, "clf__class_weight": weights}
    pipe = mixed_pipeline(numeric, cats, args.impute, args.missing_indicator, 1.0)
    cv = folds(args.cv, args.shuffle)
    search = GridSearchCV(pipe, grid, cv=cv, scoring=args.scoring, error_score=np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search.fit(x, y)
    r = search.cv_results_
    splits = [floats(r[f"split{k}_test_score"]) for k in range(args.cv)]
    strip = lambda p: {key.removeprefix("clf__"): value for key, value in p.items()}
    return {
        "params": [strip(p) for p in r["params"]],
        "split_test_scores": [list(s) for s in zip(*splits)],
        "mean_test_score": floats(r["mean_test_score"]),
        "std_test_score": floats(r["std_test_score"]),
        "rank_test_score": [int(v) for v in r["rank_test_score"]],
        "best_index": int(search.best_index_),
        "best_params": strip(search.best_params_),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("folds")
    p.add_argument("csv")
    p.add_argument("--splits", required=True)
    p.add_argument("--target")
    p = sub.add_parser("search")
    p.add_argument("csv")
    p.add_argument("--cv", type=int, required=True)
    p.add_argument("--target")
    p.add_argument("--categorical")
    p.add_argument("--drop")
    p.add_argument("--impute", default="mean")
    p.add_argument("--missing-indicator", action="store_true")
    p.add_argument("--C", default="1")
    p.add_argument("--logspace", nargs=3)
    p.add_argument("--class-weight", default="none")
    p.add_argument("--scoring", default="accuracy")
    p.add_argument("--shuffle", type=int)
    args = parser.parse_args()
    result = cmd_folds(args) if args.command == "folds" else cmd_search(args)
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()

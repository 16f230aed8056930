"""Mixed-table benchmark: onnxify against pandas + scikit-learn + skl2onnx on the same CSV.

Generates a deterministic CSV (1,000,000 rows by default): 40 numeric columns on mixed scales,
5 % of their cells empty; 10 text columns with 2, 3, 5, 8, 12, 17, 23, 30, 40 and 50 levels,
5 % of their cells empty; a 3-class label from a noisy linear rule on the numbers and the
levels. Then, alternating, three runs of each job, with tol 1e-8 and max_iter 1000 and 25 % of
the rows held out (stratified):

  onnxify        onnxify table.csv --target label   read, fit, export, verify in tract
                 -o model.onnx
  scikit-learn   sklearn_table.py                   pandas.read_csv, train_test_split,
                                                    ColumnTransformer(SimpleImputer ->
                                                    StandardScaler | OneHotEncoder) ->
                                                    LogisticRegression fit, held-out accuracy,
                                                    skl2onnx conversion written to a file

Prints the median wall time and peak RSS of each job, the ratios (targets: onnxify >= 4x
faster and <= 0.5x the peak memory) and both held-out accuracies (the two splits draw
different rows, so they are close, not equal).

Usage: python tests/bench/table_bench.py [--dir DIR] [--runs 3] [--rows 1000000]
                                          [--onnxify PATH (skips the release build)]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from release import onnxify_binary

ROOT = Path(__file__).resolve().parents[2]
SKLEARN_JOB = Path(__file__).with_name("sklearn_table.py")
TOL, MAX_ITER = "1e-8", "1000"
NUMERIC, LEVELS, CLASSES, MISSING = 40, [2, 3, 5, 8, 12, 17, 23, 30, 40, 50], 3, 0.05


def generate(path, n_rows, seed):
    """Numbers on mixed scales and text levels, 5 % of each empty, labels from a noisy
    linear rule on both; written in chunks."""
    if path.exists():
        return
    rng = np.random.default_rng(seed)
    scales = 10.0 ** rng.uniform(-2, 3, NUMERIC)
    offsets = rng.normal(0, 10, NUMERIC) * scales
    weights = rng.standard_normal((CLASSES, NUMERIC))
    # per text column: level frequencies (uneven, as real categories are) and each level's
    # effect on the class scores
    frequencies = [rng.dirichlet(np.full(k, 2.0)) for k in LEVELS]
    effects = [rng.standard_normal((k, CLASSES)) * 0.6 for k in LEVELS]
    values = [np.array([f"c{j}_l{level}" for level in range(k)]) for j, k in enumerate(LEVELS)]
    names = np.array([f"class_{c}" for c in range(CLASSES)])
    header = [f"x{i}" for i in range(NUMERIC)] + [f"t{j}" for j in range(len(LEVELS))] + ["label"]
    tmp = path.with_suffix(".partial")
    with open(tmp, "w") as f:
        f.write(",".join(header) + "\n")
        for start in range(0, n_rows, 100_000):
            n = min(100_000, n_rows - start)
            z = rng.standard_normal((n, NUMERIC))
            scores = z @ weights.T / np.sqrt(NUMERIC) * 2 + rng.standard_normal((n, CLASSES))
            columns = np.char.mod("%.6g", z * scales + offsets).astype(object)
            columns[rng.random((n, NUMERIC)) < MISSING] = ""
            text = np.empty((n, len(LEVELS)), dtype=object)
            for j, k in enumerate(LEVELS):
                codes = rng.choice(k, size=n, p=frequencies[j])
                missing = rng.random(n) < MISSING
                scores += np.where(missing[:, None], 0.0, effects[j][codes])
                text[:, j] = np.where(missing, "", values[j][codes])
            labels = names[scores.argmax(axis=1)].astype(object)
            table = np.concatenate([columns, text, labels[:, None]], axis=1)
            f.write("\n".join(",".join(row) for row in table.tolist()) + "\n")
    tmp.rename(path)


def measure(cmd):
    """Wall seconds, peak RSS (bytes) and stdout of one run of `cmd`."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # the outputs are a few lines: they fit the pipes' buffers, so wait4 cannot block on them
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    stdout, stderr = proc.stdout.read().decode(), proc.stderr.read().decode()
    proc.stdout.close()
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{cmd[0]} failed:\n{stderr}")
    if stderr:
        print(f"    {stderr.strip()}", flush=True)
    return wall, usage.ru_maxrss * 1024, stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=ROOT / "target" / "bench")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--onnxify", type=Path, help="use this binary instead of building the release one")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)

    onnxify = onnxify_binary(args.onnxify)

    path = args.dir / f"table_{args.rows}_x50.csv"
    print(f"generating {path.name}...", flush=True)
    generate(path, args.rows, seed=3)

    model, reference = args.dir / "table.onnx", args.dir / "table_sklearn.onnx"
    jobs = {
        "onnxify": [str(onnxify), str(path), "--target", "label", "-o", str(model),
                    "--tol", TOL, "--max-iter", MAX_ITER, "--quiet"],
        "scikit-learn": [sys.executable, str(SKLEARN_JOB), str(path), "label", TOL, MAX_ITER, str(reference)],
    }
    results = {name: [] for name in jobs}
    for run in range(args.runs):
        for name, cmd in jobs.items():
            print(f"  run {run + 1} of {args.runs}: {name}", flush=True)
            results[name].append(measure(cmd))

    # onnxify prints nothing with --quiet; its held-out metrics are in the provenance record
    accuracy = {
        "onnxify": json.loads(model.with_name(model.name + ".json").read_text())["metrics"]["accuracy"],
        "scikit-learn": float(results["scikit-learn"][-1][2].split()[-1]),
    }
    size = path.stat().st_size / 1e6
    print(f"\n{path.name} ({args.rows} rows, {NUMERIC} numeric and {len(LEVELS)} text columns, "
          f"{size:.0f} MB), median of {args.runs} runs")
    print(f"  {'':14} {'wall s':>8} {'peak RSS MB':>12} {'held-out accuracy':>18}")
    medians = {}
    for name, runs in results.items():
        wall = statistics.median(r[0] for r in runs)
        rss = statistics.median(r[1] for r in runs)
        medians[name] = (wall, rss)
        print(f"  {name:14} {wall:8.2f} {rss / 1e6:12.0f} {accuracy[name]:18.4f}")
    (ow, orss), (sw, srss) = medians["onnxify"], medians["scikit-learn"]
    print(f"  onnxify is {sw / ow:.1f}x faster (target: >= 4x) and uses {orss / srss:.2f}x the peak memory "
          f"(target: <= 0.5x)")


if __name__ == "__main__":
    main()

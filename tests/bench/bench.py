"""Training benchmark: the verified handoff against the Python workflow, on the same CSVs.

Generates two deterministic CSVs (in a process of its own, so that its memory does not count
in the jobs' peak RSS):

  binary_1m_x50.csv         1,000,000 x 50, two classes; five of the features sit far from
                            zero against their spread (|mean|/std up to 2e6, as timestamps
                            do), which float32 input cannot carry
  multiclass_200k_x100.csv  200,000 x 100, ten string classes

On each file, at tol 1e-4 (scikit-learn's default) and 1e-8, with every row trained
(--test-size 0) and with the default split (25 % held out), alternating, three runs of:

  onnxify  onnxify CSV -o model.onnx --json     read, fit, export, verification in tract
  python   sklearn_train.py ... OUT.onnx        pandas.read_csv, train_test_split, fit,
                                                skl2onnx, onnxruntime over the same rows,
                                                compared with predict_proba

Prints medians of wall time and peak RSS, the ratios (targets: onnxify >= 5x faster with
--test-size 0 and >= 8x with the split, at most 0.4x the peak memory), onnxify's own
per-step seconds (read, fit, export less verification, verification) and its loss and
gradient evaluations per second.

Then, with the model the handoff wrote on the 1M-row file, on that file and on its first
250,000 rows:

  predict  onnxify predict model.onnx data.csv  vs  pandas.read_csv + onnxruntime +
           -o out.csv                               DataFrame.to_csv

(target: >= 8x faster, with a peak memory that does not grow with the file's length).

Usage: python tests/bench/bench.py [--dir DIR] [--runs 3] [--onnxify PATH]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from release import onnxify_binary

ROOT = Path(__file__).resolve().parents[2]
SKLEARN_JOB = Path(__file__).with_name("sklearn_train.py")
PANDAS_PREDICT = Path(__file__).with_name("pandas_predict.py")
MAX_ITER = "1000"
TOLERANCES = ["1e-4", "1e-8"]
SPLITS = ["0", "0.25"]

GENERATE = r'''
import sys
from pathlib import Path
import numpy as np

path, n_rows, n_features, n_classes, seed = Path(sys.argv[1]), *map(int, sys.argv[2:])
rng = np.random.default_rng(seed)
scales = 10.0 ** rng.uniform(-2, 3, n_features)
offsets = rng.normal(0, 10, n_features) * scales
formats = ["%.6g"] * n_features
if n_classes == 2:
    # timestamp-like features: far from zero against their spread, written in full
    for j, ratio in zip(range(5), [2e6, 5e5, 1e5, 2e4, 5e3]):
        offsets[j] = ratio * scales[j]
        formats[j] = "%.12g"
weights = rng.standard_normal((n_classes, n_features))
names = [f"class_{c:02d}" for c in range(n_classes)]
tmp = path.with_suffix(".partial")
with open(tmp, "w") as f:
    f.write(",".join([f"f{i}" for i in range(n_features)] + ["label"]) + "\n")
    for start in range(0, n_rows, 100_000):
        n = min(100_000, n_rows - start)
        z = rng.standard_normal((n, n_features))
        scores = z @ weights.T / np.sqrt(n_features) * 3 + rng.standard_normal((n, n_classes))
        if n_classes == 2:
            labels = (scores[:, 1] > scores[:, 0]).astype(int).astype(str)
        else:
            labels = np.array(names)[scores.argmax(axis=1)]
        x = z * scales + offsets
        columns = [np.char.mod(formats[j], x[:, j]) for j in range(n_features)]
        body = np.stack(columns, axis=1)
        f.write("\n".join(",".join(row) + "," + label for row, label in zip(body, labels)) + "\n")
tmp.rename(path)
'''


def generate(path, n_rows, n_features, n_classes, seed):
    if not path.exists():
        print(f"generating {path.name}...", flush=True)
        args = [str(path), str(n_rows), str(n_features), str(n_classes), str(seed)]
        subprocess.run([sys.executable, "-c", GENERATE, *args], check=True)


def measure(cmd):
    """Wall seconds, peak RSS (bytes) and stdout of one run of `cmd`."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{cmd[0]} failed:\n{stderr}")
    return wall, usage.ru_maxrss * 1024, stdout


def median(values):
    return statistics.median(values)


def handoff(onnxify, path, runs, workdir):
    """Both workflows at every tolerance and split; returns the rows of the results table."""
    rows = []
    for tol in TOLERANCES:
        for split in SPLITS:
            model = workdir / "model.onnx"
            jobs = {
                "onnxify": [str(onnxify), str(path), "--test-size", split, "--tol", tol,
                            "--max-iter", MAX_ITER, "-o", str(model), "--json"],
                "python": [sys.executable, str(SKLEARN_JOB), str(path), tol, MAX_ITER, split,
                           str(workdir / "python.onnx")],
            }
            results = {name: [] for name in jobs}
            for _ in range(runs):
                for name, cmd in jobs.items():
                    results[name].append(measure(cmd))
            summaries = [json.loads(r[2]) for r in results["onnxify"]]
            seconds = {k: median(s["seconds"][k] for s in summaries) for k in ["read", "fit", "export", "verify"]}
            evaluations = summaries[0]["fit"]["n_evaluations"]
            o_wall, o_rss = median(r[0] for r in results["onnxify"]), median(r[1] for r in results["onnxify"])
            p_wall, p_rss = median(r[0] for r in results["python"]), median(r[1] for r in results["python"])
            row = {
                "file": path.name, "tol": tol, "test_size": split,
                "onnxify_s": o_wall, "python_s": p_wall, "speedup": p_wall / o_wall,
                "onnxify_mb": o_rss / 1e6, "python_mb": p_rss / 1e6, "memory": o_rss / p_rss,
                "read_s": seconds["read"], "fit_s": seconds["fit"],
                "export_s": seconds["export"] - seconds["verify"], "verify_s": seconds["verify"],
                "evaluations": evaluations, "evaluations_per_s": evaluations / seconds["fit"],
                "read_gb_per_s": path.stat().st_size / seconds["read"] / 1e9,
                "input": summaries[0]["model"]["graph"]["input_dtype"],
            }
            target = 5 if split == "0" else 8
            print(f"  tol {tol}, test size {split}: onnxify {o_wall:.2f} s {o_rss / 1e6:.0f} MB, "
                  f"python {p_wall:.2f} s {p_rss / 1e6:.0f} MB: {row['speedup']:.1f}x faster "
                  f"(target >= {target}x), {row['memory']:.2f}x the memory (target <= 0.4x)", flush=True)
            print(f"    onnxify: read {row['read_s']:.2f} s ({row['read_gb_per_s']:.2f} GB/s), "
                  f"fit {row['fit_s']:.2f} s ({evaluations} evaluations, "
                  f"{1000 * row['fit_s'] / evaluations:.1f} ms each), export {row['export_s']:.2f} s, "
                  f"verification {row['verify_s']:.2f} s ({row['input']} input)", flush=True)
            rows.append(row)
    return rows


def predict(onnxify, path, runs, workdir):
    model = workdir / "predict.onnx"
    subprocess.run([str(onnxify), str(path), "--test-size", "0", "-o", str(model), "--quiet"], check=True)
    head = workdir / "binary_250k_x50.csv"
    if not head.exists():
        with open(path) as source, open(head, "w") as target:
            for i, line in enumerate(source):
                if i > 250_000:
                    break
                target.write(line)
    print(f"\npredict with {model.name}, median of {runs} runs")
    peaks = {}
    for data in [head, path]:
        jobs = {
            "onnxify": [str(onnxify), "predict", str(model), str(data), "-o", str(workdir / "out_onnxify.csv"), "--quiet"],
            "pandas + onnxruntime": [sys.executable, str(PANDAS_PREDICT), str(model), str(data), str(workdir / "out_pandas.csv")],
        }
        results = {name: [] for name in jobs}
        for _ in range(runs):
            for name, cmd in jobs.items():
                results[name].append(measure(cmd))
        (ow, orss), (pw, prss) = [(median(r[0] for r in results[n]), median(r[1] for r in results[n])) for n in jobs]
        peaks[data] = orss
        print(f"  {data.name}: onnxify {ow:.2f} s {orss / 1e6:.0f} MB, pandas + onnxruntime {pw:.2f} s "
              f"{prss / 1e6:.0f} MB: {pw / ow:.1f}x faster (target >= 8x), {orss / prss:.2f}x the memory")
    print(f"  onnxify's peak memory on 4x the rows: {peaks[path] / peaks[head]:.2f}x")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=ROOT / "target" / "bench")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--onnxify", type=Path, help="use this binary instead of building the release one")
    parser.add_argument("--skip-predict", action="store_true")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    onnxify = onnxify_binary(args.onnxify)

    files = [
        (args.dir / "binary_1m_x50.csv", 1_000_000, 50, 2, 1),
        (args.dir / "multiclass_200k_x100.csv", 200_000, 100, 10, 2),
    ]
    for file in files:
        generate(*file)
    table = []
    for path, *_ in files:
        print(f"\n{path.name} ({path.stat().st_size / 1e6:.0f} MB), median of {args.runs} runs", flush=True)
        table.extend(handoff(onnxify, path, args.runs, args.dir))
    (args.dir / "bench.json").write_text(json.dumps(table, indent=1))
    if not args.skip_predict:
        predict(onnxify, files[0][0], args.runs, args.dir)


if __name__ == "__main__":
    main()

"""Training benchmark: onnxify against pandas + scikit-learn on the same CSVs.

Generates two deterministic CSVs (1,000,000 x 50 binary; 200,000 x 100 with 10 string
classes). On each file, alternating, three runs of each job, all on every row with tol 1e-8
and max_iter 1000:

  training   onnxify --dry-run (read, fit)     vs  pandas.read_csv + Pipeline.fit
  handoff    onnxify -o model.onnx (read, fit,  vs  the same + skl2onnx conversion + loading
             export, verify in tract twice)         the file in onnxruntime + comparing

Then, on the 1M-row file and on its first 250,000 rows, with the model the handoff wrote:

  predict    onnxify predict model.onnx data.csv  vs  pandas.read_csv + onnxruntime +
             -o out.csv                                DataFrame.to_csv

Prints the median wall time and peak RSS of each job and the ratios (targets: training
onnxify >= 4x faster and <= 0.5x the peak memory; predict >= 2x faster, with a peak memory
that does not grow with the file's length).

Usage: python tests/bench/bench.py [--dir DIR] [--runs 3]
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from release import onnxify_binary

ROOT = Path(__file__).resolve().parents[2]
SKLEARN_JOB = Path(__file__).with_name("sklearn_train.py")
PANDAS_PREDICT = Path(__file__).with_name("pandas_predict.py")
TOL, MAX_ITER = "1e-8", "1000"


def generate(path, n_rows, n_features, n_classes, seed):
    """Features on mixed scales, labels from a noisy linear rule; written in chunks."""
    if path.exists():
        return
    rng = np.random.default_rng(seed)
    scales = 10.0 ** rng.uniform(-2, 3, n_features)
    offsets = rng.normal(0, 10, n_features) * scales
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
            body = np.char.mod("%.6g", x)
            lines = [",".join(row) + "," + label for row, label in zip(body, labels)]
            f.write("\n".join(lines) + "\n")
    tmp.rename(path)


def measure(cmd):
    """Wall seconds and peak RSS (bytes) of one run of `cmd`."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    stderr = proc.stderr.read().decode()
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{cmd[0]} failed:\n{stderr}")
    return wall, usage.ru_maxrss * 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=ROOT / "target" / "bench")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)

    onnxify = onnxify_binary()

    files = [
        (args.dir / "binary_1m_x50.csv", 1_000_000, 50, 2, 1),
        (args.dir / "multiclass_200k_x100.csv", 200_000, 100, 10, 2),
    ]
    for path, rows, features, classes, seed in files:
        print(f"generating {path.name}...", flush=True)
        generate(path, rows, features, classes, seed)

    for path, *_ in files:
        model = args.dir / "model.onnx"
        common = [str(path), "--test-size", "0", "--tol", TOL, "--max-iter", MAX_ITER, "--quiet"]
        sklearn = [sys.executable, str(SKLEARN_JOB), str(path), TOL, MAX_ITER]
        jobs = {
            "onnxify training": [str(onnxify), *common, "--dry-run"],
            "scikit-learn training": sklearn,
            "onnxify handoff": [str(onnxify), *common, "-o", str(model)],
            "scikit-learn handoff": [*sklearn, str(args.dir / "sklearn.onnx")],
        }
        results = {name: [] for name in jobs}
        for _ in range(args.runs):
            for name, cmd in jobs.items():
                results[name].append(measure(cmd))
        size = path.stat().st_size / 1e6
        print(f"\n{path.name} ({size:.0f} MB), median of {args.runs} runs")
        print(f"  {'':22} {'wall s':>8} {'peak RSS MB':>12}")
        medians = {}
        for name, runs in results.items():
            wall = statistics.median(r[0] for r in runs)
            rss = statistics.median(r[1] for r in runs)
            medians[name] = (wall, rss)
            print(f"  {name:22} {wall:8.2f} {rss / 1e6:12.0f}")
        for job, target in [("training", " (target: >= 4x, <= 0.5x)"), ("handoff", "")]:
            (ow, orss), (sw, srss) = medians[f"onnxify {job}"], medians[f"scikit-learn {job}"]
            print(f"  {job}: onnxify is {sw / ow:.1f}x faster and uses {orss / srss:.2f}x the peak memory{target}")

    # predict, with the binary model the handoff wrote last
    path = files[0][0]
    model = args.dir / "model.onnx"
    subprocess.run([str(onnxify), str(path), "--test-size", "0", "-o", str(model), "--quiet"], check=True)
    head = args.dir / "binary_250k_x50.csv"
    if not head.exists():
        with open(path) as source, open(head, "w") as target:
            for i, line in enumerate(source):
                if i > 250_000:
                    break
                target.write(line)
    print(f"\npredict with {model.name}, median of {args.runs} runs")
    print(f"  {'':45} {'wall s':>8} {'peak RSS MB':>12}")
    peaks = {}
    for data in [head, path]:
        jobs = {
            "onnxify": [str(onnxify), "predict", str(model), str(data), "-o", str(args.dir / "out_onnxify.csv"), "--quiet"],
            "pandas + onnxruntime": [sys.executable, str(PANDAS_PREDICT), str(model), str(data), str(args.dir / "out_pandas.csv")],
        }
        results = {name: [] for name in jobs}
        for _ in range(args.runs):
            for name, cmd in jobs.items():
                results[name].append(measure(cmd))
        medians = {}
        for name, runs in results.items():
            medians[name] = (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs))
            print(f"  {name + ' ' + data.name:45} {medians[name][0]:8.2f} {medians[name][1] / 1e6:12.0f}")
        (ow, orss), (pw, prss) = medians["onnxify"], medians["pandas + onnxruntime"]
        peaks[data] = orss
        print(f"  {data.name}: onnxify is {pw / ow:.1f}x faster (target: >= 2x) and uses {orss / prss:.2f}x the peak memory")
    print(f"  onnxify's peak memory on 4x the rows: {peaks[path] / peaks[head]:.2f}x")

if __name__ == "__main__":
    main()

"""Model-search benchmark: onnxify's cross-validated grid search against pandas + GridSearchCV
+ skl2onnx on the same CSV.

Generates a deterministic CSV (200,000 rows by default): 100 numeric columns x0..x99 on mixed
scales, no empty cells, and a label of 10 string classes (class_0 .. class_9) from a noisy
linear rule, so no C separates the classes and every fit takes real iterations. Then,
alternating, three runs of each job, searching 7 values of C (numpy.logspace(-3, 3, 7)) with
5 stratified folds, tol 1e-8 and max_iter 1000, on 75 % of the rows (the other 25 % held out,
stratified):

  onnxify        onnxify search.csv --target label      read; score every C on every fold;
                 -o model.onnx --cv 5                   refit the best C on the training
                 --C 1e-3..1e3:7 --json                 rows; held-out metrics; export;
                                                        verify in tract
  scikit-learn   sklearn_search.py                      pandas.read_csv, train_test_split,
                                                        GridSearchCV(StandardScaler ->
                                                        LogisticRegression, n_jobs=2) fit
                                                        and refit, held-out accuracy,
                                                        skl2onnx conversion written to a file

(onnxify runs with --json rather than --quiet: it then prints only its summary, which names
the C it chose and the held-out accuracy.)

GridSearchCV(n_jobs=2) fits in two loky worker processes besides its own, so the memory that
counts is the whole process tree's: a thread samples, every 50 ms, the sum of VmRSS over the
job's process and all its descendants (found through the parent links in /proc/*/stat) and
keeps the largest sum. ru_maxrss, the largest single process (of those the job waited for), is
printed beside it; it would flatter scikit-learn, whose data sits in three processes.

Prints the median wall time and peak RSS of each job, the ratios (targets: onnxify >= 5x
faster and <= 0.5x the process tree's peak memory), the C each chose and both held-out
accuracies (the two splits draw different rows, so they are close, not equal).

With --scaling, runs onnxify alone instead (--dry-run, no model written) on the same CSV for
grids of (values of C, folds) = (1, 2), (3, 3), (7, 5), (14, 5), (7, 10), and prints the time
against the number of fits: candidates x folds, plus the refit of the best C.

Usage: python tests/bench/search_bench.py [--dir DIR] [--runs 3] [--rows 200000] [--scaling]
                                           [--onnxify PATH (skips the release build)]
"""

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from release import onnxify_binary

ROOT = Path(__file__).resolve().parents[2]
SKLEARN_JOB = Path(__file__).with_name("sklearn_search.py")
TOL, MAX_ITER = "1e-8", "1000"
FEATURES, CLASSES = 100, 10
N_C, FOLDS = 7, 5  # the compared search: 7 values of C x 5 folds
SCALING = [(1, 2), (3, 3), (7, 5), (14, 5), (7, 10)]  # (values of C, folds) for --scaling
SAMPLE_EVERY = 0.05  # seconds between two samples of the process tree's memory


def generate(path, n_rows, seed):
    """Numbers on mixed scales, labels from a noisy linear rule on them; written in chunks."""
    if path.exists():
        return
    rng = np.random.default_rng(seed)
    scales = 10.0 ** rng.uniform(-2, 3, FEATURES)
    offsets = rng.normal(0, 10, FEATURES) * scales
    weights = rng.standard_normal((CLASSES, FEATURES))
    names = np.array([f"class_{c}" for c in range(CLASSES)])
    header = [f"x{i}" for i in range(FEATURES)] + ["label"]
    tmp = path.with_suffix(".partial")
    with open(tmp, "w") as f:
        f.write(",".join(header) + "\n")
        for start in range(0, n_rows, 100_000):
            n = min(100_000, n_rows - start)
            z = rng.standard_normal((n, FEATURES))
            # the noise is as large as the signal: the classes overlap, whatever C
            scores = z @ weights.T / np.sqrt(FEATURES) * 3 + rng.standard_normal((n, CLASSES))
            columns = np.char.mod("%.6g", z * scales + offsets).astype(object)
            labels = names[scores.argmax(axis=1)].astype(object)
            table = np.concatenate([columns, labels[:, None]], axis=1)
            f.write("\n".join(",".join(row) for row in table.tolist()) + "\n")
    tmp.rename(path)


def tree_rss(root):
    """Sum of VmRSS (bytes) over process `root` and all its descendants."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:  # the process ended meanwhile
            continue
        # the command name, in parentheses, may hold spaces: the fields after it are
        # "state ppid ..."
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):  # absent once the process is a zombie
                        total += int(line.split()[1]) * 1024
                        break
        except OSError:
            pass
    return total


def measure(cmd):
    """Wall seconds, peak RSS of the process tree (bytes), ru_maxrss (bytes) and stdout of one
    run of `cmd`."""
    # the outputs go to files, not pipes: the worker processes inherit them, and nothing can
    # block on a full pipe while we wait
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err)
        peak, done = [0], threading.Event()

        def sample():
            while True:
                peak[0] = max(peak[0], tree_rss(proc.pid))
                if done.wait(SAMPLE_EVERY):
                    return

        sampler = threading.Thread(target=sample)
        sampler.start()
        # the main thread waits in wait4, so the wall time does not depend on the sampling
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        done.set()
        sampler.join()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{cmd[0]} failed:\n{stderr}")
    if stderr:
        print(f"    {stderr.strip()}", flush=True)
    maxrss = usage.ru_maxrss * 1024
    # the samples can miss a short peak; the tree's peak is at least its largest process's
    return wall, max(peak[0], maxrss), maxrss, stdout


def grid(n_c):
    """onnxify's spelling of numpy.logspace(-3, 3, n_c)."""
    return f"1e-3..1e3:{n_c}"


def scaling(onnxify, path, runs):
    """onnxify alone, --dry-run, on grids of growing size: time against the number of fits."""
    common = [str(onnxify), str(path), "--target", "label", "--dry-run",
              "--tol", TOL, "--max-iter", MAX_ITER, "--quiet"]
    results = {shape: [] for shape in SCALING}
    for run in range(runs):
        for n_c, folds in SCALING:
            print(f"  run {run + 1} of {runs}: {n_c} C x {folds} folds", flush=True)
            results[(n_c, folds)].append(measure([*common, "--cv", str(folds), "--C", grid(n_c)]))

    print(f"\n{path.name}: onnxify --dry-run, C = logspace(-3, 3, n), median of {runs} runs")
    print(f"  {'candidates x folds':>18} {'fits':>6} {'wall s':>8} {'s per fit':>10} {'peak RSS MB':>12}")
    fits, walls = [], []
    for (n_c, folds), measured in results.items():
        wall = statistics.median(r[0] for r in measured)
        rss = statistics.median(r[1] for r in measured)
        n_fits = n_c * folds + 1  # every candidate on every fold, and the refit of the best
        fits.append(n_fits)
        walls.append(wall)
        print(f"  {f'{n_c} x {folds}':>18} {n_fits:6} {wall:8.2f} {wall / n_fits:10.3f} {rss / 1e6:12.0f}")
    # a straight line through the points: the fixed cost (reading, held-out metrics) and the
    # cost of one more fit (which varies with C: a large C takes more iterations)
    slope, intercept = np.polyfit(fits, walls, 1)
    print(f"  least squares: wall ~ {intercept:.2f} s + {slope:.3f} s per fit")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=ROOT / "target" / "bench")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--scaling", action="store_true",
                        help="time onnxify alone against the number of candidates x folds")
    parser.add_argument("--onnxify", type=Path, help="use this binary instead of building the release one")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)

    onnxify = onnxify_binary(args.onnxify)

    path = args.dir / f"search_{args.rows}_x{FEATURES}.csv"
    print(f"generating {path.name}...", flush=True)
    # in a process of its own: on Linux a child's ru_maxrss starts from the peak RSS of the
    # process that started it (the child borrows the parent's memory map until it execs), so
    # generating here, at a few GB, would become every job's ru_maxrss
    generator = multiprocessing.Process(target=generate, args=(path, args.rows, 4))
    generator.start()
    generator.join()
    if generator.exitcode != 0:
        sys.exit("generating the CSV failed")

    if args.scaling:
        scaling(onnxify, path, args.runs)
        return

    model, reference = args.dir / "search.onnx", args.dir / "search_sklearn.onnx"
    jobs = {
        "onnxify": [str(onnxify), str(path), "--target", "label", "-o", str(model),
                    "--cv", str(FOLDS), "--C", grid(N_C), "--tol", TOL, "--max-iter", MAX_ITER, "--json"],
        "scikit-learn": [sys.executable, str(SKLEARN_JOB), str(path), "label", TOL, MAX_ITER,
                         str(N_C), str(FOLDS), str(reference)],
    }
    results = {name: [] for name in jobs}
    for run in range(args.runs):
        for name, cmd in jobs.items():
            print(f"  run {run + 1} of {args.runs}: {name}", flush=True)
            results[name].append(measure(cmd))
            if name == "scikit-learn":
                steps = json.loads(results[name][-1][3])["seconds"]
                print("    scikit-learn: " + ", ".join(f"{step} {s:.2f} s" for step, s in steps.items()), flush=True)

    # each job's summary, from every run: the chosen C (the same in every run) and the
    # held-out accuracy
    summaries = {name: [json.loads(r[3]) for r in runs] for name, runs in results.items()}
    chosen = {
        "onnxify": {s["search"]["best_params"]["C"] for s in summaries["onnxify"]},
        "scikit-learn": {s["best_C"] for s in summaries["scikit-learn"]},
    }
    accuracy = {
        "onnxify": summaries["onnxify"][-1]["metrics"]["accuracy"],
        "scikit-learn": summaries["scikit-learn"][-1]["accuracy"],
    }
    size = path.stat().st_size / 1e6
    print(f"\n{path.name} ({args.rows} rows, {FEATURES} numeric columns, {CLASSES} classes, {size:.0f} MB): "
          f"{N_C} values of C x {FOLDS} folds, median of {args.runs} runs")
    print(f"  {'':14} {'wall s':>8} {'peak RSS MB':>12} {'max process MB':>15} {'best C':>8} {'held-out accuracy':>18}")
    medians = {}
    for name, runs in results.items():
        wall = statistics.median(r[0] for r in runs)
        rss = statistics.median(r[1] for r in runs)
        maxrss = statistics.median(r[2] for r in runs)
        medians[name] = (wall, rss, maxrss)
        best = ", ".join(f"{c:g}" for c in sorted(chosen[name]))
        print(f"  {name:14} {wall:8.2f} {rss / 1e6:12.0f} {maxrss / 1e6:15.0f} {best:>8} {accuracy[name]:18.4f}")
    (ow, orss, omax), (sw, srss, smax) = medians["onnxify"], medians["scikit-learn"]
    print(f"  onnxify is {sw / ow:.1f}x faster (target: >= 5x) and uses {orss / srss:.2f}x the process tree's "
          f"peak memory (target: <= 0.5x; {omax / smax:.2f}x the largest process's)")


if __name__ == "__main__":
    main()

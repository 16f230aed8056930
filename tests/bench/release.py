"""The onnxify binary the benchmarks time: the one given, or the release build of this tree."""

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def onnxify_binary(given=None):
    """`given` if set, else builds the release binary (in CARGO_TARGET_DIR, or target/) and
    returns its path."""
    if given:
        return given
    print("building onnxify (release)...", flush=True)
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", ROOT / "target")
    return Path(target) / "release" / "onnxify"

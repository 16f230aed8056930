"""`python -m onnxify ...`: runs the `onnxify` command with the same arguments."""

import os
import subprocess
import sys

from onnxify import find_onnxify_bin


def main() -> int:
    binary = find_onnxify_bin()
    if sys.platform == "win32":
        return subprocess.call([binary, *sys.argv[1:]])
    os.execv(binary, [binary, *sys.argv[1:]])
    return 1  # not reached: execv replaces the process


if __name__ == "__main__":
    sys.exit(main())

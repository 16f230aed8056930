"""onnxify as a Python package: the `onnxify` command (a Rust binary the wheel installs into the
environment's scripts directory) and `find_onnxify_bin`, its path."""

import os
import shutil
import sys
import sysconfig


def find_onnxify_bin() -> str:
    """The path of the `onnxify` binary installed with this package."""
    name = "onnxify" + (sysconfig.get_config_var("EXE") or "")
    # The environment's scripts directory, or the user's for `pip install --user`.
    directories = [sysconfig.get_path("scripts")]
    try:
        directories.append(sysconfig.get_path("scripts", f"{os.name}_user"))
    except KeyError:
        pass
    for directory in directories:
        candidate = os.path.join(directory, name)
        if os.path.isfile(candidate):
            return candidate
    found = shutil.which(name)
    if found:
        return found
    raise FileNotFoundError(f"the {name} binary is not installed beside {sys.executable}")

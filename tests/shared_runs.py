"""Runs that several test files need with the same inputs, made once per session (fixtures in conftest.py).

``prunerl build --check`` regenerates every exercise (about 40 s): the README's instructor path runs it as its
first command and test_grading_cases asserts it is clean, so one run in a scratch checkout serves both.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD_CHECK = "prunerl build --check"


def scratch_checkout(folder: Path) -> Path:
    """A working folder that sees the course as a learner's checkout does."""
    for name in ("lessons", "exercises", "solutions", "autograder", "src", "pyproject.toml"):
        (folder / name).symlink_to(ROOT / name)
    return folder


def run(command: str, cwd: Path) -> subprocess.CompletedProcess:
    """A README command as a reader types it, on the fast configuration, with this venv's tools first on PATH."""
    env = {**os.environ, "PRUNERL_FAST": "1", "OMP_NUM_THREADS": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)

"""Measure the README's set-up: in a fresh venv, the library alone (`pip install -e .`, then lesson 1 runs in fast
mode with nothing else installed), then the course extra (the README's first command), then the dev and site extras
(its second), each with the README's constraints: wall time and disk size. Writes bench/install.json, which the
README's numbers are checked against.

    python bench/bench_install.py            # a few minutes and 3+ GB of scratch disk
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONSTRAINTS = ["-c", "constraints/linux-cpu.txt", "-c", "constraints/lock.txt"]  # the README's, in its order


def du_gb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink()) / 1e9


def main() -> int:
    out = {"date": date.today().isoformat(), "python": platform.python_version(), "machine": platform.machine()}
    with tempfile.TemporaryDirectory() as tmp:
        venv = Path(tmp) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "pip"), "install", "-q", "--no-cache-dir"]
        installing = 0.0  # seconds spent installing so far: each step's figure is the time from the empty venv
        for key, target in (("library", "."), ("main", ".[course]"), ("dev_site", ".[course,dev,site]")):
            start = time.perf_counter()
            subprocess.run(pip + ["-e", target, *CONSTRAINTS], check=True, cwd=ROOT)
            installing += time.perf_counter() - start
            out[f"{key}_seconds"] = round(installing)
            out[f"{key}_venv_gb"] = round(du_gb(venv), 1)
            print(key, out[f"{key}_seconds"], "s", out[f"{key}_venv_gb"], "GB", flush=True)
            if key == "library":  # the library alone runs a lesson
                start = time.perf_counter()
                subprocess.run([str(venv / "bin" / "python"), "lessons/01_what_is_pruning.py"], check=True, cwd=ROOT,
                               env={**os.environ, "PRUNERL_FAST": "1", "MPLBACKEND": "Agg"},
                               stdout=subprocess.DEVNULL)
                out["library_lesson_seconds"] = round(time.perf_counter() - start)
    (ROOT / "bench" / "install.json").write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

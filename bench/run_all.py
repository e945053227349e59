"""Run every benchmark in ``bench/`` and assemble ``bench/RESULTS.md``.

Each script rewrites its own section of RESULTS.md; a script written elsewhere that does not (no
``<!-- bench: name -->`` section after it ran) gets its printed output put in a section for it.
Scripts run one after another in fresh processes (each sets its own malloc and thread controls).

Usage: python bench/run_all.py [--only storage latency ...] [--skip pruning_quality]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time

import benchlib

SCRIPTS = ["storage", "sparse_matmul", "latency", "pruning_quality", "oneshot_sweep", "grading", "lessons"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", default=None, choices=SCRIPTS)
    parser.add_argument("--skip", nargs="+", default=[], choices=SCRIPTS)
    args = parser.parse_args(argv)
    failed = []
    for name in args.only or SCRIPTS:
        path = benchlib.BENCH_DIR / f"bench_{name}.py"
        if name in args.skip or not path.exists():
            print(f"== {name}: {'skipped' if name in args.skip else 'not present'}", flush=True)
            continue
        print(f"== {name}: running {path.name}", flush=True)
        before = benchlib.RESULTS.read_text() if benchlib.RESULTS.exists() else ""
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, str(path)], capture_output=True, text=True)
        seconds = time.perf_counter() - started
        sys.stdout.write(proc.stdout[-4000:])
        if proc.returncode != 0:
            sys.stdout.write(proc.stderr[-4000:])
            failed.append(name)
            print(f"== {name}: FAILED (exit {proc.returncode}) after {seconds:.0f} s", flush=True)
            continue
        after = benchlib.RESULTS.read_text() if benchlib.RESULTS.exists() else ""
        wrote_itself = f"<!-- bench: {name} -->" in after and after != before
        if not wrote_itself:
            title = f"## {name.capitalize()}: printed output of `bench_{name}.py`"
            benchlib.write_section(name, f"{title}\n\n```\n{proc.stdout.strip()}\n```", captured=True)
        print(f"== {name}: done in {seconds:.0f} s", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

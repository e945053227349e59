"""The default ``prunerl compare``: the old code path against today's, in one run, on the same machine.

The old path is the library at ``--baseline`` (a commit; its ``src/`` is unpacked into a temporary folder and put
first on ``PYTHONPATH``), run sequentially as it was; the new one is the working tree with its default ``--jobs``.
Both run the default configuration from a fresh process, one after the other. Reported: wall time, CPU time of
the process and its workers (``RUSAGE_CHILDREN``), their ratios, and whether every per-cell result (all columns
but the timing ones) is identical between the two and to the committed ``docs/compare/results.csv``.

Wall times depend on what else runs on the cores: the load average before and after each run is printed beside
them. CPU time is the work done; on an idle machine with ``J`` cores the wall time is about CPU / J.

Usage: python bench/bench_compare.py [--baseline 759ee58] [--seeds 0 1 ...]
"""
from __future__ import annotations

import argparse
import io
import os
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import benchlib
import pandas as pd

ROOT = benchlib.BENCH_DIR.parent
BASELINE = "759ee58"  # the last commit before the pool and the linear-time mask cut
TIMING = ["prune_seconds", "seconds"]
MAIN = "import sys; from prunerl.cli import main; sys.exit(main())"


def unpack(commit: str, into: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", commit, "src"], check=True,
                             capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def timed(argv: list[str], pythonpath: Path | None) -> dict:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = f"{pythonpath}{os.pathsep}{env.get('PYTHONPATH', '')}"
    load_before = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", MAIN, *argv], env=env, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed:\n{proc.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu, "load_before": load_before, "load_after": os.getloadavg()[0]}


def same_cells(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    cols = [c for c in a.columns if c not in TIMING]
    return list(a.columns) == list(b.columns) and a[cols].equals(b[cols])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=BASELINE)
    parser.add_argument("--seeds", nargs="+", default=None, help="a smaller run (default: the default seeds)")
    args = parser.parse_args(argv)
    benchlib.controlled()  # the same malloc and thread settings for both paths
    from prunerl.commands.compare import _cpus
    from prunerl.compare import DEFAULT_SEEDS

    # Both paths get the seeds explicitly: the baseline's own default may be another seed count.
    extra = ["--seeds", *(args.seeds or [str(s) for s in DEFAULT_SEEDS])]
    with tempfile.TemporaryDirectory(prefix="bench_compare_") as tmp:
        tmp = Path(tmp)
        old_src = unpack(args.baseline, tmp / "old")
        print(f"old path: {args.baseline}, sequential ...", flush=True)
        old = timed(["compare", "--out", str(tmp / "old_out"), *extra], old_src)
        print(f"  {old}", flush=True)
        print("new path: working tree, default --jobs ...", flush=True)
        new = timed(["compare", "--out", str(tmp / "new_out"), *extra], None)
        print(f"  {new}", flush=True)
        old_df, new_df = (pd.read_csv(tmp / f"{k}_out" / "results.csv") for k in ("old", "new"))
    committed = pd.read_csv(ROOT / "docs" / "compare" / "results.csv")
    identical = same_cells(old_df, new_df)
    as_committed = not args.seeds and same_cells(new_df, committed)
    rows = [["old (sequential)", f"{old['wall']:.1f}", f"{old['cpu']:.1f}", f"{old['load_before']:.1f} / "
             f"{old['load_after']:.1f}"],
            [f"new (--jobs {_cpus()})", f"{new['wall']:.1f}", f"{new['cpu']:.1f}", f"{new['load_before']:.1f} / "
             f"{new['load_after']:.1f}"]]
    seeds = " ".join(args.seeds) if args.seeds else f"default ({DEFAULT_SEEDS[0]}-{DEFAULT_SEEDS[-1]})"
    text = "\n".join([
        "## `prunerl compare`, default configuration: old path against new", "",
        f"Seeds: {seeds}; {len(new_df)} rows. Old path: the library at commit `{args.baseline}`, sequential; new: "
        "the working tree, runs spread over a pool of worker processes (one torch thread each), gradual pruning's "
        "masks cut in linear time. Each from a fresh process, one after the other.", "",
        benchlib.table(["path", "wall s", "CPU s (with workers)", "load average before / after"], rows), "",
        f"**Wall: {old['wall'] / new['wall']:.2f}x faster; CPU: {old['cpu'] / new['cpu']:.2f}x less work** "
        f"(old / new). Per-cell results (every column but {', '.join(TIMING)}): "
        f"{'identical' if identical else '**DIFFERENT**'} between the two paths"
        + ("" if args.seeds else f"; {'identical' if as_committed else '**different from**'} "
           f"{'to ' if as_committed else ''}the committed `docs/compare/results.csv`") + ".",
        "", "Wall times include what else ran on the shared cores (load average beside them); on an idle machine "
        "with J free cores the new path's wall time is about its CPU time / J plus start-up."])
    benchlib.write_section("compare", text)
    print(text)
    return 0 if identical and (args.seeds or as_committed) else 1


if __name__ == "__main__":
    sys.exit(main())

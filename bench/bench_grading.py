"""Grading throughput: seconds to grade one full submission, and learners per minute with ``--jobs 2``.

A "full submission" is one learner's notebooks for every built assignment (the reference solutions, so every
test cell runs to the end: the slow case). Everything goes through ``prunerl.grading.grade`` (real nbgrader
autograde, private course copies), with resume off.

    python bench/bench_grading.py                 # 1 learner with --jobs 1, then 4 learners with --jobs 2
    python bench/bench_grading.py --learners 6 --jobs 2
"""
from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import nbformat

from prunerl.grading.course import default_layout
from prunerl.grading.grade import grade, prepare_template


def bench_assignments(layout) -> list[str]:
    assignments = [a for a in layout.built_assignments() if (layout.solutions / f"{a}.ipynb").exists()]
    if not assignments:
        raise SystemExit("no built assignments with a solution notebook: run `prunerl build` first")
    return assignments


def write_submissions(layout, root: Path, learners: int) -> None:
    for i in range(learners):
        for a in bench_assignments(layout):
            nb = nbformat.read(layout.solutions / f"{a}.ipynb", as_version=4)
            for cell in nb.cells:
                if cell.cell_type == "code":
                    cell.outputs, cell.execution_count = [], None
            path = root / f"learner{i:03d}" / a / f"{a}.ipynb"
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, path)


def timed_run(layout, learners: int, jobs: int, timeout: int) -> tuple[float, dict]:
    with tempfile.TemporaryDirectory(prefix="prunerl-bench-") as tmp:
        tmp = Path(tmp)
        write_submissions(layout, tmp / "submitted", learners)
        prepare_template(layout, tmp / "out" / ".cache")  # nbgrader generate_assignment: outside the timing
        start = time.perf_counter()
        summary = grade([tmp / "submitted"], layout, tmp / "out", jobs=jobs, timeout=timeout, resume=False)
        return time.perf_counter() - start, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=4, help="learners in the parallel run (default 4)")
    parser.add_argument("--jobs", type=int, default=2, help="nbgrader processes in the parallel run (default 2)")
    parser.add_argument("--timeout", type=int, default=300, help="per-cell timeout in seconds")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    layout = default_layout()
    assignments = bench_assignments(layout)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU(s); "
          f"{len(assignments)} assignment(s): {', '.join(assignments)}")

    seconds, summary = timed_run(layout, 1, 1, args.timeout)
    full = summary["total"] == summary["max"]
    print(f"one full submission ({len(assignments)} notebooks), --jobs 1: {seconds:.1f} s "
          f"({seconds / len(assignments):.1f} s per notebook; score {summary['total']:g}/{summary['max']:g}"
          f"{'' if full else ' -- NOT full marks'})")

    seconds, summary = timed_run(layout, args.learners, args.jobs, args.timeout)
    per_minute = args.learners / (seconds / 60)
    print(f"{args.learners} learners x {len(assignments)} notebooks, --jobs {args.jobs}: {seconds:.1f} s "
          f"-> {per_minute:.2f} learners per minute ({per_minute * 60:.0f} per hour)")


if __name__ == "__main__":
    main()

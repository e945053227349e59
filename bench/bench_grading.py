"""Grading throughput and what the sandbox and the out-of-process checker cost.

A "full submission" is one learner's notebooks for every built assignment (the reference solutions, so every
test cell runs to the end: the slow case). Everything goes through ``prunerl.course.grading.grade`` (real nbgrader
autograde, private course copies), with resume off.

1. One full submission graded twice per repeat, interleaved: as ``prunerl grade`` does it (every kernel in its
   sandbox, the hidden checks judged by the checker process), and without both (``--unsafe-no-sandbox`` and no
   checker: nbgrader's own verdicts, what grading cost before them). The ratio is the overhead.
2. Learners per minute with ``--jobs 2``, sandboxed (``--learners 0`` skips it).

    python bench/bench_grading.py                      # 2 interleaved repeats, then 4 learners with --jobs 2
    python bench/bench_grading.py --repeats 2 --learners 0
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import nbformat

from prunerl.course.grading import judging
from prunerl.course.grading.layout import default_layout
from prunerl.course.grading.grade import grade, prepare_template


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


def timed_run(layout, learners: int, jobs: int, timeout: int, protected: bool = True) -> tuple[float, dict]:
    """Seconds to grade; ``protected=False``: no sandbox and no checker (the hidden cells record, nobody judges)."""
    check_jobs = judging.check_jobs
    if not protected:  # the hidden cells still get their params and record; nobody judges
        judging.check_jobs = lambda *args: (check_jobs(*args), {})[1]
    try:
        with tempfile.TemporaryDirectory(prefix="prunerl-bench-") as tmp:
            tmp = Path(tmp)
            write_submissions(layout, tmp / "submitted", learners)
            prepare_template(layout, tmp / "out" / ".cache")  # nbgrader generate_assignment: outside the timing
            start = time.perf_counter()
            summary = grade([tmp / "submitted"], layout, tmp / "out", jobs=jobs, timeout=timeout, resume=False,
                            sandboxed=protected)
            return time.perf_counter() - start, summary
    finally:
        judging.check_jobs = check_jobs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2, help="interleaved pairs of runs (default 2)")
    parser.add_argument("--learners", type=int, default=4, help="learners in the parallel run (default 4, 0: skip)")
    parser.add_argument("--jobs", type=int, default=2, help="nbgrader processes in the parallel run (default 2)")
    parser.add_argument("--timeout", type=int, default=300, help="per-cell timeout in seconds")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    layout = default_layout()
    assignments = bench_assignments(layout)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU(s); "
          f"{len(assignments)} assignment(s): {', '.join(assignments)}")

    times: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(args.repeats):
        for protected in (False, True):
            seconds, summary = timed_run(layout, 1, 1, args.timeout, protected)
            times[protected].append(seconds)
            full = summary["total"] == summary["max"]
            print(f"one full submission, --jobs 1, {'sandbox + checker' if protected else 'neither':17s}: "
                  f"{seconds:6.1f} s (score {summary['total']:g}/{summary['max']:g}"
                  f"{'' if full else ' -- NOT full marks'})")
    with_, without = statistics.median(times[True]), statistics.median(times[False])
    print(f"sandbox + checker overhead: {with_:.1f} s vs {without:.1f} s = {with_ / without:.3f}x "
          f"({100 * (with_ / without - 1):+.1f} %; goal <= +20 %)")

    if args.learners > 0:
        seconds, _summary = timed_run(layout, args.learners, args.jobs, args.timeout)
        per_minute = args.learners / (seconds / 60)
        print(f"{args.learners} learners x {len(assignments)} notebooks, --jobs {args.jobs}, sandboxed: "
              f"{seconds:.1f} s -> {per_minute:.2f} learners per minute ({per_minute * 60:.0f} per hour)")


if __name__ == "__main__":
    main()

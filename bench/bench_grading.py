"""Grading throughput: today's path (every kernel started when nbgrader asks) against the fast path (kernels forked
from the run's zygote into sandboxes started ahead).

A "full submission" is one learner's notebooks for every built assignment (the reference solutions, so every
test cell runs to the end: the slow case). Everything goes through ``prunerl.course.grading.grade`` (real nbgrader
autograde, private course copies, every kernel in its sandbox, the checker judging), with resume off. The two paths
differ only in ``PRUNERL_WARM_KERNELS`` (0: today's path, no zygote; unset: the zygote and the default lookahead of
``kernelpool``).

1. One full submission with ``--jobs 1``, today's path and the fast path in interleaved pairs (``--repeats``).
2. Learners per minute with ``--jobs 2`` (``--learners`` of them), both paths, interleaved (``--learners 0`` skips).
3. ``--overhead``: also the old sandbox + checker overhead pair (no sandbox and no checker vs today's path).

    python bench/bench_grading.py                      # 2 pairs, then 4 learners with --jobs 2 on each path
    python bench/bench_grading.py --repeats 1 --learners 0
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

import nbformat

from prunerl.course.grading import judging, kernelpool
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


PATHS = {"today": "0", "fast": None}


def timed_run(layout, learners: int, jobs: int, timeout: int, protected: bool = True,
              path: str = "fast") -> tuple[float, dict]:
    """Seconds to grade; ``protected=False``: no sandbox and no checker (the hidden cells record, nobody judges)."""
    os.environ.pop(kernelpool.ENV, None)
    if PATHS[path] is not None:
        os.environ[kernelpool.ENV] = PATHS[path]
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
            seconds = time.perf_counter() - start
            summary["profile"] = profile(tmp / "out" / "autograded", seconds) if jobs == 1 else None
            return seconds, summary
    finally:
        judging.check_jobs = check_jobs
        os.environ.pop(kernelpool.ENV, None)


def _when(cell, key: str) -> float:
    return datetime.fromisoformat(cell.metadata["execution"][key].replace("Z", "+00:00")).timestamp()


def profile(folder: Path, seconds: float) -> dict:
    """Where one ``--jobs 1`` run's seconds went, from the cell timings nbclient records in the graded notebooks:
    the import cells (the first code cell and the ``setup`` cell), the test cells (visible tests and hidden
    checks), the learner's cells (solutions, demos), the gaps between one notebook's last cell and the next one's
    first (kernel start and nbgrader's per-notebook work) and the rest (nbgrader start-up, the checker, merging)."""
    parts = {"imports": 0.0, "test cells": 0.0, "learner cells": 0.0, "between notebooks": 0.0}
    spans = []
    for path in folder.glob("*/*/*.ipynb"):  # nbgrader's autograded/<student>/<assignment>/
        cells = [c for c in nbformat.read(path, as_version=4).cells
                 if c.cell_type == "code" and "iopub.execute_input" in c.metadata.get("execution", {})]
        for n, cell in enumerate(cells):
            meta = cell.metadata.get("nbgrader", {})
            key = ("imports" if n == 0 or meta.get("grade_id") == "setup" else
                   "test cells" if meta.get("grade") else "learner cells")
            parts[key] += _when(cell, "shell.execute_reply") - _when(cell, "iopub.execute_input")
        if cells:
            spans.append((_when(cells[0], "iopub.execute_input"), _when(cells[-1], "shell.execute_reply")))
    spans.sort()
    parts["between notebooks"] = sum(b[0] - a[1] for a, b in zip(spans, spans[1:]))
    parts["rest"] = seconds - sum(parts.values())
    return parts


def _score(summary: dict) -> str:
    full = summary["total"] == summary["max"]
    return f"score {summary['total']:g}/{summary['max']:g}{'' if full else ' -- NOT full marks'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2, help="interleaved pairs of runs (default 2)")
    parser.add_argument("--learners", type=int, default=4, help="learners in the parallel run (default 4, 0: skip)")
    parser.add_argument("--jobs", type=int, default=2, help="nbgrader processes in the parallel run (default 2)")
    parser.add_argument("--timeout", type=int, default=300, help="per-cell timeout in seconds")
    parser.add_argument("--overhead", action="store_true", help="also time no sandbox + no checker vs today's path")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    layout = default_layout()
    assignments = bench_assignments(layout)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU(s); "
          f"{len(assignments)} assignment(s): {', '.join(assignments)}")

    times: dict[str, list[float]] = {"today": [], "fast": []}
    for _ in range(args.repeats):
        for path in ("today", "fast"):
            seconds, summary = timed_run(layout, 1, 1, args.timeout, path=path)
            times[path].append(seconds)
            print(f"one full submission, --jobs 1, {path:5s} path: {seconds:6.1f} s ({_score(summary)})", flush=True)
            print("    " + ", ".join(f"{k} {v:.1f} s" for k, v in summary["profile"].items()), flush=True)
    today, fast = statistics.median(times["today"]), statistics.median(times["fast"])
    print(f"full submission --jobs 1: today {today:.1f} s, fast {fast:.1f} s = {fast / today:.3f}x "
          f"(goal: fast <= 30 s)", flush=True)

    if args.learners > 0:
        rate = {}
        for path in ("today", "fast"):
            seconds, summary = timed_run(layout, args.learners, args.jobs, args.timeout, path=path)
            rate[path] = args.learners / (seconds / 60)
            print(f"{args.learners} learners x {len(assignments)} notebooks, --jobs {args.jobs}, {path:5s} path: "
                  f"{seconds:.1f} s -> {rate[path]:.2f} learners per minute ({rate[path] * 60:.0f} per hour; "
                  f"{_score(summary)})", flush=True)
        print(f"learners per minute --jobs {args.jobs}: fast / today = {rate['fast'] / rate['today']:.3f}x "
              "(goal: fast >= 4)")

    if args.overhead:
        pair = {}
        for protected in (False, True):
            pair[protected], _summary = timed_run(layout, 1, 1, args.timeout, protected, path="today")
        print(f"sandbox + checker overhead (today's path): {pair[True]:.1f} s vs {pair[False]:.1f} s = "
              f"{pair[True] / pair[False]:.3f}x")


if __name__ == "__main__":
    main()

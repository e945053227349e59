"""How a grading run's batches get graded: here, ``jobs`` nbgrader processes at a time (``run_local``), or by the
workers of a Dask cluster (``distributed``). Either way a batch is ``grade_batch`` and its results are recorded by the
caller, on this machine."""
from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import sandbox
from .batch import _ACTIVE, _CANCEL, Cancelled, Template, _kill_group, run_batch


def grade_batch(template: Template, entries: list, tmp: Path, timeout: int, feedback: bool,
                limits: sandbox.Limits | None, forbidden: tuple[Path, ...],
                cancelled: Callable[[], bool] = lambda: False, zygote=None) -> dict[tuple[str, str], dict]:
    """``run_batch`` in ``tmp``, then each notebook nbgrader gave up on, alone."""
    raws = run_batch(template, entries, tmp / "batch", timeout, feedback, limits, forbidden, zygote)
    failed = [e for e in entries if raws[e[:2]]["error"]]
    if failed and len(entries) > 1:  # nbgrader gave up on part of the batch: one notebook at a time
        for n, entry in enumerate(failed):
            if cancelled():
                raise Cancelled
            raws.update(run_batch(template, [entry], tmp / f"retry{n}", timeout, feedback, limits, forbidden,
                                  zygote))
    return raws


def crashed(entries: list, reason: str) -> dict[tuple[str, str], dict]:
    """A result for every notebook of a batch the grader failed on (not kept for resume)."""
    return {e[:2]: {"error": f"the grader failed on this batch ({reason}); score 0, graded again next run",
                    "crashed": True} for e in entries}


def split(todo: list, slots: int, batch_size: int) -> list[list]:
    """Batches of at most ``batch_size``, in whole rounds of ``slots`` batches of (nearly) equal size, so that no
    slot idles at the end while another grades a full batch alone; as few as that allows (each batch pays one
    nbgrader start-up and its checker)."""
    slots = max(1, slots)
    rounds = max(1, -(-len(todo) // (max(1, batch_size) * slots)))
    count = min(len(todo), rounds * slots) or 1
    size, extra = divmod(len(todo), count)
    bounds = [0]
    for i in range(count):
        bounds.append(bounds[-1] + size + (i < extra))
    return [todo[a:b] for a, b in zip(bounds, bounds[1:]) if b > a]


def run_local(todo: list, jobs: int, batch_size: int, work: Callable[[list], None]) -> None:
    """``work(batch)`` on ``jobs`` threads (each drives one nbgrader process); Ctrl-C stops every nbgrader process,
    and the batches already finished stay recorded."""
    jobs = max(1, min(jobs, len(todo)))
    _CANCEL.clear()
    with ThreadPoolExecutor(jobs) as pool:
        futures = [pool.submit(work, b) for b in split(todo, jobs, batch_size)]
        try:
            for future in futures:
                future.result()
        except BaseException:
            _CANCEL.set()
            for future in futures:
                future.cancel()
            for proc in list(_ACTIVE):
                _kill_group(proc)
            raise

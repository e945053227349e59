"""How a grading run's batches get graded: here, ``jobs`` nbgrader processes at a time (``run_local``), or by the
workers of a Dask cluster (``distributed``). Either way a batch is ``grade_batch`` and its results are recorded by the
caller, on this machine."""
from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from contextlib import contextmanager
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
    # Ctrl-C is owned before the first batch starts: a press while they start up is not lost either
    with ctrl_c_remembered() as pressed, ThreadPoolExecutor(jobs) as pool:
        futures = []
        try:
            futures += [pool.submit(work, b) for b in split(todo, jobs, batch_size)]
            pending = set(futures)
            while pending and not pressed.is_set():
                done, pending = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
                for future in done:
                    future.result()
            if pressed.is_set():
                raise KeyboardInterrupt
        except BaseException:
            _CANCEL.set()
            for future in futures:
                future.cancel()
            for proc in list(_ACTIVE):
                _kill_group(proc)
            raise


@contextmanager
def ctrl_c_remembered():
    """An event set by Ctrl-C while the block runs. Python raises KeyboardInterrupt wherever the main thread is, and
    one raised inside a finalizer (a Dask future's ``__del__``, run by the garbage collector) is printed and dropped:
    the waiting loop checks the event, so the run stops either way. The run owns Ctrl-C meanwhile, also over a
    handler a library left behind (asyncio's, which only wakes a loop that no longer runs); the previous handler
    comes back after. Ignored SIGINT (a background job) stays ignored; outside the main thread nothing changes."""
    pressed = threading.Event()
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or previous == signal.SIG_IGN:
        yield pressed
        return

    def on_ctrl_c(_signum, _frame):
        pressed.set()
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_ctrl_c)
    try:
        yield pressed
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.default_int_handler)

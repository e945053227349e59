"""Progress of a grading run, as results arrive: a live bar on a terminal, one plain line per notebook otherwise.

The grading run tells a tracker four things: how many notebooks it will grade (``start``), what it is doing
between results (``phase``: starting sandboxes, judging), that a notebook's kernel has ended (``ran``: its sandbox
wrote ``status.json``; the verdict comes with its batch) and each final result (``graded``). Only ``graded``
carries scores; ``ran`` moves the bar (and the ETA) between batches and is display only, never trusted for a
grade.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def failed(result: dict) -> bool:
    """A notebook counts as a failure when it scored below its maximum."""
    return float(result.get("score", 0.0)) < float(result.get("max_score", 0.0))


class Tracker:
    """The silent tracker (``--quiet``, library calls); subclasses show something."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.total = self.done = self.failures = 0
        self.seen: set = set()
        self.doing: str | None = None  # None: grading, notebook k of n

    def start(self, total: int) -> None:
        self.total = total

    def phase(self, doing: str | None) -> None:
        """What the run does now ("starting sandboxes", "judging 6 notebook(s)"); None: back to grading."""
        with self.lock:
            self.doing = doing
            if doing:
                self._said(doing)
            self._update()

    def now(self) -> str:
        return self.doing or f"grading {min(len(self.seen) + 1, self.total)} of {self.total}"

    def ran(self, key) -> None:
        with self.lock:
            if key in self.seen:
                return
            self.seen.add(key)
            self._update()

    def graded(self, key, result: dict) -> None:
        with self.lock:
            self.seen.add(key)
            self.done += 1
            self.failures += failed(result)
            self.doing = None
            self._line(result)
            self._update()

    def close(self) -> None:
        pass

    def _update(self) -> None:
        pass

    def _line(self, result: dict) -> None:
        pass

    def _said(self, doing: str) -> None:
        pass


class LineTracker(Tracker):
    """One plain line per finished notebook (logs, CI, pipes)."""

    def __init__(self, console) -> None:
        super().__init__()
        self.console = console

    def _line(self, result: dict) -> None:
        mark = "failed" if failed(result) else "ok"
        self.console.print(f"[{self.done}/{self.total}] {result.get('path')}: {result['score']:g} / "
                           f"{result['max_score']:g} {mark}", highlight=False, markup=False, soft_wrap=True)

    def _said(self, doing: str) -> None:
        self.console.print(f"{doing}...", highlight=False, markup=False, soft_wrap=True)


class BarTracker(Tracker):
    """A rich progress bar: what the run is doing, notebooks done / total, failures so far, ETA."""

    def __init__(self, console) -> None:
        super().__init__()
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(TextColumn("{task.description:<24}"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("{task.fields[failures]} failed"), TextColumn("ETA"), TimeRemainingColumn(),
                            console=console, transient=False)
        self.task = None

    def start(self, total: int) -> None:
        super().start(total)
        if total:
            self.bar.start()
            self.task = self.bar.add_task(self.now(), total=total, failures=0)

    def _update(self) -> None:
        if self.task is not None:
            self.bar.update(self.task, completed=min(self.total, max(self.done, len(self.seen))),
                            failures=self.failures, description=self.now())

    def close(self) -> None:
        if self.task is not None:
            self.bar.stop()
            self.task = None


def tracker_for(console, quiet: bool, live: bool) -> Tracker:
    """Silent when ``quiet``, a bar when ``live`` (a terminal), else one line per notebook."""
    if quiet:
        return Tracker()
    return BarTracker(console) if live else LineTracker(console)


@contextmanager
def watching(tracker: Tracker, folder: Path, keys: list[tuple[str, str]], every: float = 0.5) -> Iterator[None]:
    """Report ``tracker.ran(key)`` as each of ``keys`` ((student, assignment)) gets a ``status.json`` anywhere
    under ``folder`` (a batch and its one-notebook retries): the sandbox launcher writes it when the kernel ends."""
    stop = threading.Event()
    pending = set(keys)

    def poll() -> None:
        while pending and not stop.wait(every):
            for key in list(pending):
                if next(Path(folder).glob(f"*/sandbox/{key[0]}/{key[1]}/status.json"), None) is not None:
                    pending.discard(key)
                    tracker.ran(key)
            if not pending:  # every kernel of the batch has ended: the checker judges its records now
                tracker.phase(f"judging {len(keys)} notebook(s)")

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()

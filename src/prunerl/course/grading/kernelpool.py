"""Warm kernels with lookahead: start the sandboxes of the next notebooks of a batch while one is graded.

nbgrader autograde runs a batch's notebooks one after the other in the order of their ``<student>/<assignment>``
paths (sorted). While notebook k runs, the pool keeps the sandboxes of the next ``ahead`` notebooks started
(``warm_launch --warm``): the same sandbox as today's, each for one named notebook, its process importing the
notebook's framework in the meantime. nbgrader's kernel command (``warm_launch --attach``) takes the one of its own
notebook, or starts one the old way when there is none. Nothing is shared between notebooks: a warm sandbox
serves exactly one, and every one that is still waiting when the batch ends is killed.

``PRUNERL_WARM_KERNELS`` sets ``ahead`` (default 2; 0: every kernel starts when nbgrader asks, today's path).
"""
from __future__ import annotations

import ast
import os
import subprocess
import sys
import threading
from pathlib import Path

from . import sandbox

WARM_LAUNCH = Path(__file__).with_name("warm_launch.py")
ENV = "PRUNERL_WARM_KERNELS"
DEFAULT_AHEAD = 2


def lookahead() -> int:
    """How many sandboxes to keep warm ahead (``PRUNERL_WARM_KERNELS``; a bad value means the default)."""
    try:
        return max(0, int(os.environ.get(ENV, DEFAULT_AHEAD)))
    except ValueError:
        return DEFAULT_AHEAD


# What a warm kernel may import, by the top-level package a notebook imports: the heavy modules only, never the
# course checks (the notebook imports those itself) nor matplotlib (it picks its backend from the kernel's
# environment at import); the TensorFlow track never torch.
WARM = {"numpy": ("numpy",), "pandas": ("pandas",), "gymnasium": ("gymnasium",), "torch": ("torch",),
        "tensorflow": ("tensorflow",), "keras": ("tensorflow", "keras"),
        "prunerl": ("gymnasium", "prunerl.zoo", "prunerl.evaluation", "prunerl.metrics", "prunerl.pruning",
                    "prunerl.envs", "prunerl.specs", "prunerl.convert", "prunerl.structured", "prunerl.stats")}
TRACK = {"torch": ("torch", "prunerl.nets", "prunerl.train"), "tf": ("tensorflow", "keras", "prunerl.keras_nets"),
         "none": ()}


def framework(assignment: str) -> str:
    return "tf" if assignment.endswith("_tf") else "torch" if assignment.endswith("_torch") else "none"


def warm_modules(course: Path, assignment: str) -> list[str]:
    """The modules a warm kernel imports for ``assignment``: those of ``WARM`` and of its track that the master
    notebook's code imports (by top-level package)."""
    import nbformat

    tops = set()
    try:
        nb = nbformat.read(Path(course) / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    except (OSError, ValueError):
        return []
    for cell in nb.cells:
        try:
            tree = ast.parse(cell.source) if cell.cell_type == "code" else None
        except SyntaxError:
            continue
        for node in ast.walk(tree) if tree else ():
            if isinstance(node, ast.Import):
                tops |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                tops.add(node.module.split(".")[0])
    track = framework(assignment)
    wanted = [m for top in sorted(tops) for m in WARM.get(top, ())]
    wanted += [m for m in TRACK[track] if m.split(".")[0] in tops or m.startswith("prunerl.") and "prunerl" in tops]
    if track == "tf":
        wanted = [m for m in wanted if m.split(".")[0] != "torch" and m not in TRACK["torch"]]
    # prunerl first, as the notebooks import it: prunerl.keras_nets sets TensorFlow's environment (quiet, oneDNN
    # off for float sums the checker reproduces) before TensorFlow loads
    return sorted(dict.fromkeys(wanted), key=lambda m: not m.startswith("prunerl."))


def nbgrader_order(jobs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The order nbgrader autograde grades ``(student, assignment)`` in: sorted submission folder paths."""
    return sorted(jobs, key=lambda job: f"{job[0]}/{job[1]}")


class WarmPool:
    """Keeps at most ``ahead`` unattached warm sandboxes, in nbgrader's order, until ``stop``."""

    def __init__(self, batch: Path, course: Path, jobs: list[tuple[str, str]], ahead: int):
        self.batch, self.course, self.ahead = Path(batch), Path(course), ahead
        self.order = nbgrader_order(jobs)
        self.modules = {a: warm_modules(self.course, a) for a in {a for _s, a in jobs}} if ahead else {}
        self.procs: list[tuple[subprocess.Popen, Path]] = []
        self.log = open(self.batch / "warm.log", "ab")  # the bootstraps' output until their notebook attaches
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="prunerl-warm-pool", daemon=True)

    def __enter__(self) -> WarmPool:
        if self.ahead > 0:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _waiting(self) -> int:
        return sum(proc.poll() is None and not (job / "attached").exists() for proc, job in self.procs)

    def _run(self) -> None:
        # The warm launchers die with this thread (PR_SET_PDEATHSIG), so it lives until stop().
        try:
            while not self._stop.is_set():
                while len(self.procs) < len(self.order) and self._waiting() < self.ahead:
                    self._start(*self.order[len(self.procs)])
                self._stop.wait(0.05)
        finally:
            for proc, job in self.procs:
                if proc.poll() is None and not (job / "attached").exists():
                    proc.kill()  # never attached: its sandbox dies with it (bwrap --die-with-parent)
            for proc, _job in self.procs:
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()

    def _start(self, student: str, assignment: str) -> None:
        job = sandbox.job_dir(self.batch, student, assignment)
        job.mkdir(parents=True, exist_ok=True)
        (job / "warming").touch()  # the launcher removes it once it has taken its notebook or died
        files = self.course / "source" / assignment  # what nbgrader copies next to the notebook
        cmd = [sys.executable, "-I", str(WARM_LAUNCH), "--warm", str(self.batch / "sandbox.json"), str(job),
               str(files), ",".join(self.modules[assignment])]
        self.procs.append((subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log), job))

    def stop(self) -> None:
        """Kill every sandbox still waiting for its notebook; wait for all of them (nbgrader has ended)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self.log.close()

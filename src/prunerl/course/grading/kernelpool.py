"""Warm kernels: one fork server (``zygote.py``) per framework in a batch, and the sandboxes of the next notebooks
started while one is graded.

nbgrader autograde runs a batch's notebooks one after the other in the order of their ``<student>/<assignment>``
paths (sorted). At the start of a batch the pool starts a zygote per track (torch, TensorFlow, neither) that imports
what that track's notebooks import, once. While notebook k runs, the pool keeps the sandboxes of the next ``ahead``
notebooks started (``warm_launch --warm``): the same sandbox as today's, each for one named notebook, with only its
PID 1 in it. nbgrader's kernel command (``warm_launch --attach``) takes the one of its own notebook, whose launcher
has the zygote fork the kernel into it; with no sandbox or no zygote, the kernel starts the old way. Nothing is
shared between notebooks: a sandbox serves exactly one, every kernel is a fresh fork of a zygote that never runs
learner code, and whatever is still waiting when the batch ends is killed.

``PRUNERL_WARM_KERNELS`` sets ``ahead`` (default 2; 0: every kernel starts when nbgrader asks, today's path).
"""
from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

from . import sandbox
from .sandbox_launch import HOME

WARM_LAUNCH = Path(__file__).with_name("warm_launch.py")
ZYGOTE = Path(__file__).with_name("zygote.py")
ENV = "PRUNERL_WARM_KERNELS"
DEFAULT_AHEAD = 2


def lookahead() -> int:
    """How many sandboxes to keep warm ahead (``PRUNERL_WARM_KERNELS``; a bad value means the default)."""
    try:
        return max(0, int(os.environ.get(ENV, DEFAULT_AHEAD)))
    except ValueError:
        return DEFAULT_AHEAD


# What a zygote may import, by the top-level package a notebook imports: the heavy modules only, never the
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
    """The modules a zygote imports for ``assignment``: those of ``WARM`` and of its track that the master
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
    """A zygote per track of the batch, and at most ``ahead`` unattached warm sandboxes in nbgrader's order, until
    ``stop``."""

    def __init__(self, batch: Path, course: Path, jobs: list[tuple[str, str]], ahead: int):
        self.batch, self.course, self.ahead = Path(batch), Path(course), ahead
        self.order = nbgrader_order(jobs)
        self.tracks: dict[str, list[str]] = {}
        for _s, a in self.order if ahead else ():
            mods = self.tracks.setdefault(framework(a), [])
            mods += [m for m in warm_modules(self.course, a) if m not in mods]
        self.procs: list[tuple[subprocess.Popen, Path]] = []
        self.zygotes: dict[str, subprocess.Popen] = {}
        self.log = open(self.batch / "warm.log", "ab")  # what zygotes and launchers print
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="prunerl-warm-pool", daemon=True)

    def __enter__(self) -> WarmPool:
        if self.ahead > 0:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def socket(self, track: str) -> Path:
        return self.batch / f"zygote-{track}.sock"

    def _waiting(self) -> int:
        return sum(proc.poll() is None and not (job / "attached").exists() for proc, job in self.procs)

    def _run(self) -> None:
        # Zygotes and launchers die with this thread (PR_SET_PDEATHSIG), so it lives until stop().
        try:
            self._start_zygotes()
            while not self._stop.is_set():
                while len(self.procs) < len(self.order) and self._waiting() < self.ahead:
                    self._start(*self.order[len(self.procs)])
                for track, proc in self.zygotes.items():
                    if proc.poll() is not None and not self.socket(track).with_suffix(".sock.dead").exists():
                        self.socket(track).with_suffix(".sock.dead").touch()  # launchers stop waiting for it
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
            for proc in self.zygotes.values():
                proc.kill()  # its children (and their kernels' sandboxes) are gone with their launchers
                proc.wait()

    def _start_zygotes(self) -> None:
        cfg = json.loads((self.batch / "sandbox.json").read_text())
        env = dict(cfg["env"], HOME=HOME, TMPDIR="/tmp")  # a kernel's, but the notebook's own check files
        for track, modules in sorted(self.tracks.items()):
            cmd = [cfg["python"], str(ZYGOTE), str(self.socket(track)), ",".join(modules), os.pathsep.join(cfg["hide"])]
            self.zygotes[track] = subprocess.Popen(cmd, cwd="/", env=env, stdin=subprocess.DEVNULL, stdout=self.log,
                                                   stderr=self.log)

    def _start(self, student: str, assignment: str) -> None:
        job = sandbox.job_dir(self.batch, student, assignment)
        job.mkdir(parents=True, exist_ok=True)
        (job / "warming").touch()  # the launcher removes it once it has taken its notebook or died
        files = self.course / "source" / assignment  # what nbgrader copies next to the notebook
        cmd = [sys.executable, "-I", str(WARM_LAUNCH), "--warm", str(self.batch / "sandbox.json"), str(job),
               str(files), str(self.socket(framework(assignment)))]
        self.procs.append((subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log), job))

    def stop(self) -> None:
        """Kill every sandbox still waiting for its notebook and the zygotes; wait for all of them (nbgrader has
        ended)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self.log.close()
